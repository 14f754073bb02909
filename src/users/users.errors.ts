import { defineError } from "../shared/errors.js";

export const UserInvalid = defineError("USER_INVALID", "A user needs a valid email address, a role of admin or viewer, and a password of 12 to 1,024 characters.");
export const UserExists = defineError("USER_EXISTS", "A user with that email address already exists.");
export const UserNotFound = defineError("USER_NOT_FOUND", "No user has that email address.");
export const SignInFailed = defineError("SIGN_IN_FAILED", "The email address or password is wrong.");
export const SignInThrottled = defineError("SIGN_IN_THROTTLED", "Too many failed sign-ins for this address or from this network address; wait and try again.");
export const SessionRequired = defineError("SESSION_REQUIRED", "Sign in first: the dashboard API needs a session.");
export const CsrfFailed = defineError("CSRF_FAILED", "A change needs the session's X-CSRF-Token header, from the dashboard's own origin.");
export const NotPermitted = defineError("NOT_PERMITTED", "The user's role or workspace grants do not allow this.");
