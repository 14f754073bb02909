// A certificate authority and one server certificate signed by it, for TLS tests only: STARTTLS
// with verification (MTA-STS "enforce") and the HTTPS policy fetch. Generated once with openssl
// (EC P-256, valid 2000 to 2125) and kept here so tests need no openssl at run time. The server
// certificate names *.sts.test, mta-sts.sts.test, mx.sts.test, *.enforce.test,
// mta-sts.enforce.test, mta-sts.gone.test, localhost and 127.0.0.1. Trust TEST_CA_PEM only in
// tests (the transport's tlsCa option); it is no secret and guards nothing.

export const TEST_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBaTCCARCgAwIBAgICEAAwCgYIKoZIzj0EAwIwGzEZMBcGA1UEAwwQUG9zdGhv
cm4gVGVzdCBDQTAgFw0wMDAxMDEwMDAwMDBaGA8yMTI1MTIzMTAwMDAwMFowGzEZ
MBcGA1UEAwwQUG9zdGhvcm4gVGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABCnG9xOrgyi+1JvilFtuO+jQw3oLdWSMim5epsgLAkmQE3eSyCMKlo5s0HqJ
G4aBK6Igkj4vIj/wUsV7uNL5gmejQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P
AQH/BAQDAgEGMB0GA1UdDgQWBBSsGZDSAxzKoMqqUS8VQDG712u60zAKBggqhkjO
PQQDAgNHADBEAiBQdNxfObjatWgoMjPEngdErXaSIuFl19R+Ugt0dl/R6QIgO1qU
PyIhCS+jFdcPqHnocgrIq93d1KuB57ocIbl825U=
-----END CERTIFICATE-----
`;

export const TEST_SERVER_CERT_PEM = `-----BEGIN CERTIFICATE-----
MIICFjCCAb2gAwIBAgICEAIwCgYIKoZIzj0EAwIwGzEZMBcGA1UEAwwQUG9zdGhv
cm4gVGVzdCBDQTAgFw0wMDAxMDEwMDAwMDBaGA8yMTI1MTIzMTAwMDAwMFowFjEU
MBIGA1UEAwwLbXguc3RzLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARP
JqKxiNJx75a2+BKkpjV7l8X6+ZZJxnxDemLGGsn5wUjBHnmyJp2dFh/ltGS8EdKd
95a6nN1RhAqiDgC0cPwWo4HzMIHwMAkGA1UdEwQCMAAwDgYDVR0PAQH/BAQDAgeA
MBMGA1UdJQQMMAoGCCsGAQUFBwMBMH4GA1UdEQR3MHWCCiouc3RzLnRlc3SCEG10
YS1zdHMuc3RzLnRlc3SCC214LnN0cy50ZXN0gg4qLmVuZm9yY2UudGVzdIIUbXRh
LXN0cy5lbmZvcmNlLnRlc3SCEW10YS1zdHMuZ29uZS50ZXN0gglsb2NhbGhvc3SH
BH8AAAEwHwYDVR0jBBgwFoAUrBmQ0gMcyqDKqlEvFUAxu9drutMwHQYDVR0OBBYE
FPwtGBmPfZRoNPKxeEf0hFD76KH7MAoGCCqGSM49BAMCA0cAMEQCIHzLoM79028E
ykaKxK1AsJ2ODG40Tejxn3TgaSWw4WE3AiBQ80nQQkgmzU6epJkCtb1288Q8bLZK
kDEWDMzODXeaXQ==
-----END CERTIFICATE-----
`;

export const TEST_SERVER_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTvWpkb5OZi0wVrLz
Kz2Do9JFnHQ2ZOTYobJJ+MyYMCihRANCAARPJqKxiNJx75a2+BKkpjV7l8X6+ZZJ
xnxDemLGGsn5wUjBHnmyJp2dFh/ltGS8EdKd95a6nN1RhAqiDgC0cPwW
-----END PRIVATE KEY-----
`;
