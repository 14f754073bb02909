// Errors of templates and layouts. The Postmark edge maps them to Postmark's 11xx codes.
import { defineError } from "../shared/errors.js";

export const TemplateNotFound = defineError("TEMPLATE_NOT_FOUND", "No template of this workspace has this id or alias (also a layout named by LayoutTemplate).");
export const TemplateQueryInvalid = defineError("TEMPLATE_QUERY_INVALID", "A template list parameter is invalid (count, offset, templateType).");
export const TemplateLimitReached = defineError("TEMPLATE_LIMIT_REACHED", "The workspace already has the most templates it may have (100).");
export const TemplateFieldMissing = defineError("TEMPLATE_FIELD_MISSING", "A required template field is missing (Name, Subject, a body, or TemplateId/TemplateAlias when sending).");
export const TemplateFieldTooLarge = defineError("TEMPLATE_FIELD_TOO_LARGE", "A template field is longer than its limit.");
export const TemplateFieldInvalid = defineError("TEMPLATE_FIELD_INVALID", "A template field is invalid: alias syntax or in use, TemplateType, template syntax, or TemplateModel not an object.");
export const TemplateFieldNotAllowed = defineError("TEMPLATE_FIELD_NOT_ALLOWED", "A field does not apply here: a layout of a layout, a layout sent as a message, a template type changed, both TemplateId and TemplateAlias.");
export const TemplatePushEmpty = defineError("TEMPLATE_PUSH_EMPTY", "The source workspace has no template with an alias to push.");
export const TemplatePushTypeMismatch = defineError("TEMPLATE_PUSH_TYPE_MISMATCH", "A pushed alias is a layout in one workspace and a standard template in the other.");
export const TemplatePushServerNotFound = defineError("TEMPLATE_PUSH_SERVER_NOT_FOUND", "The source or destination server of a template push does not exist.");
export const LayoutInUse = defineError("LAYOUT_IN_USE", "A layout that templates use cannot be deleted (or turned into a standard template).");
export const LayoutContentMissing = defineError("LAYOUT_CONTENT_MISSING", "A layout's body does not contain the {{{ @content }}} placeholder exactly once.");
export const TemplateRenderLimit = defineError("TEMPLATE_RENDER_LIMIT", "Rendering a template exceeded its output or work limit.");
export const TemplateNoData = defineError("TEMPLATE_NO_DATA", "A template call that needs a JSON body received none (or not an object).");
