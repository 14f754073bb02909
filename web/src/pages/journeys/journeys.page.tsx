// PLACEHOLDER: replaced by this page's real content (issue 13).
import { PageHeader } from "../../ui/page";
import { Notice } from "../../ui/states";

export default function Page() {
  return (
    <>
      <PageHeader title="Journeys" />
      <Notice title="Not built yet">This page is being built.</Notice>
    </>
  );
}
