import { defineError } from "../shared/errors.js";

export const BounceNotFound = defineError("BOUNCE_NOT_FOUND", "No bounce record has that id in this workspace.");
export const BounceNotActivatable = defineError("BOUNCE_NOT_ACTIVATABLE", "The bounce cannot be activated: its address is not inactive because of it, or a spam complaint made it inactive.");
