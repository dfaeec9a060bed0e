/**
 * Pull request comments from the workflows, for actions/github-script (which runs plain CommonJS,
 * hence not TypeScript): `require("./scripts/ci/prComment.cjs")` from the checkout.
 *
 * Each comment starts with a hidden marker line; a later push updates the bot's comment that starts
 * with the same marker instead of adding one.
 */

/** GitHub refuses a comment over 65,536 characters; leave room for the heading. */
const MAX_LOG = 60_000;

/** Creates the comment, or updates the bot's earlier one with the same first line. */
async function upsertComment({ github, context, body }) {
  const marker = body.split("\n", 1)[0];
  const { owner, repo } = context.repo;
  const issue_number = context.payload.pull_request.number;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });
  const previous = comments.find((c) => c.user?.type === "Bot" && c.body?.startsWith(marker));
  if (previous) await github.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body });
  else await github.rest.issues.createComment({ owner, repo, issue_number, body });
}

const escapeHtml = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * The `pulumi preview` comment, also when the preview failed: pulumi/actions posts its comment only
 * after a successful command (src/main.ts awaits the preview, which throws on a non-zero exit, before
 * handlePullRequestMessage), so a mandatory policy violation never reached the pull request.
 */
function previewComment({ stack, status, log }) {
  const failed = String(status) !== "0";
  const lines = [
    `<!-- istio-mesh:pulumi-preview stack=${stack} -->`,
    `### \`pulumi preview\` of stack \`${stack}\` with the policy pack`,
    "",
    failed
      ? `:x: **The preview failed (exit ${status})**: a mandatory policy violation, or an error; see the end of the output.`
      : ":white_check_mark: The preview passed the policy pack.",
  ];
  const trimmed = log.length > MAX_LOG ? `[… ${log.length - MAX_LOG} characters cut]\n${log.slice(-MAX_LOG)}` : log;
  lines.push("", "<details><summary>Output</summary>", "", `<pre>${escapeHtml(trimmed)}</pre>`, "", "</details>");
  return `${lines.join("\n")}\n`;
}

module.exports = { upsertComment, previewComment };
