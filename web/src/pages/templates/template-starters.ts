// What a new template starts with: a few tags, so the preview has something to fill from the
// suggested model at once. A layout must hold {{{ @content }}} exactly once.
export const STARTER_SUBJECT = "Hello {{name}}";
export const STARTER_HTML = "<p>Hello {{name}},</p>\n<p>Welcome to {{product_name}}.</p>\n";
export const STARTER_LAYOUT = "<html>\n<body>\n{{{ @content }}}\n<p>{{company_name}}</p>\n</body>\n</html>\n";
