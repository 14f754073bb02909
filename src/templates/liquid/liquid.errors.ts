// Errors of Liquid rendering (journeys, broadcasts, transactional messages). Each edge maps them:
// a template refused when it is stored is the caller's input error; one that fails at send time is
// recorded on the run or the delivery attempt that rendered it.
import { defineError } from "../../shared/errors.js";

export const LiquidSyntax = defineError("LIQUID_SYNTAX_INVALID", "A Liquid template does not parse; `line` and `column` say where.");
export const LiquidRenderLimit = defineError("LIQUID_RENDER_LIMIT", "Rendering a Liquid template went past its bounds (template length, render time or memory).");
export const LiquidRenderFailed = defineError("LIQUID_RENDER_FAILED", "Rendering a Liquid template failed (an unknown filter, a bad argument).");
