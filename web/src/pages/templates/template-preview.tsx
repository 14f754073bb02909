// The live preview: the editor's fields and test model, once typing pauses, go to the server's
// preview call (the templates domain's validate: the renderer sending uses), which answers each
// part rendered or its syntax errors with line and character. The HTML is shown in a sandboxed
// frame (srcdoc, no scripts, an opaque origin) so that a template's markup can neither run code
// nor reach the dashboard; the page's policy also blocks remote images and fonts inside it.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { TemplatePreviewAnswer, TemplatePreviewBody, TemplateSyntaxProblem } from "@contract/templates.contract";
import { apiSend, workspacePath } from "../../api/client";
import { ErrorNotice } from "../../ui/states";
import { useDebounced } from "./use-debounced";

/** Long enough to skip the keys of a typed word, short enough to feel live. */
export const PREVIEW_DEBOUNCE_MS = 350;

export function useTemplatePreview(workspaceId: string, request: TemplatePreviewBody | null) {
  const settled = useDebounced(request, PREVIEW_DEBOUNCE_MS);
  return useQuery({
    queryKey: ["template-preview", workspaceId, settled],
    // apiSend takes no signal; an outdated answer is simply replaced by the next key's.
    queryFn: () => apiSend<TemplatePreviewAnswer>("POST", workspacePath(workspaceId, "/templates/preview"), settled),
    enabled: settled !== null,
    placeholderData: keepPreviousData,
    staleTime: Infinity,
    retry: false,
  });
}

export function PartErrors({ id, errors }: { id: string; errors: TemplateSyntaxProblem[] | undefined }) {
  if (!errors || errors.length === 0) return null;
  return (
    <ul className="template-errors" id={id} aria-live="polite">
      {errors.map((e, i) => (
        <li key={i}>
          Line {e.line}, character {e.character}: {e.message}
        </li>
      ))}
    </ul>
  );
}

export function PreviewPanel({ preview, showSubject }: { preview: ReturnType<typeof useTemplatePreview>; showSubject: boolean }) {
  const answer = preview.data;
  return (
    <section className="template-preview" aria-labelledby="preview-title">
      <h2 id="preview-title">
        Preview {preview.isFetching && <small className="muted">(rendering…)</small>}
      </h2>
      {preview.isError && <ErrorNotice error={preview.error} title="No preview" />}
      {answer && (
        <>
          {showSubject && (
            <p className="preview-subject" aria-label="Rendered subject">
              {answer.subject.rendered ?? <span className="muted">(the subject has errors)</span>}
            </p>
          )}
          {answer.htmlBody.rendered !== null ? (
            <iframe title="HTML preview" sandbox="" srcDoc={answer.htmlBody.rendered} referrerPolicy="no-referrer" />
          ) : (
            <p className="muted">{answer.htmlBody.valid ? "No HTML body." : "The HTML body has errors; see beside it."}</p>
          )}
          <h3>Text</h3>
          {answer.textBody.rendered !== null ? <pre aria-label="Text preview">{answer.textBody.rendered}</pre> : <p className="muted">{answer.textBody.valid ? "No text body (one is made from the HTML when sending)." : "The text body has errors."}</p>}
        </>
      )}
    </section>
  );
}
