// One AG-UI run against Felix Server with the reference client, @ag-ui/client's HttpAgent (its event validation on).
// Usage: node agui-run.mjs <server base url> '<json: {key, threadId, messageId, task, runId, forwardedProps, dropAfterTexts, resume}>'
// Prints one JSON object: every event the client accepted, its messages and state after the run, the run's result, and
// the error the client raised (its validation refusing an event, or an HTTP status), if any.
import { HttpAgent, buildResumeArray } from "@ag-ui/client";

const [, , baseUrl, optionsJson] = process.argv;
const options = JSON.parse(optionsJson);

// The client warns instead of failing when it strips a field the protocol does not define: such a warning fails the test.
const warnings = [];
console.warn = (...args) => warnings.push(args.map(String).join(" "));
console.error = (...args) => warnings.push(args.map(String).join(" "));

const agent = new HttpAgent({
  url: new URL("api/v1/agui", baseUrl).toString(),
  headers: options.key ? { Authorization: `Bearer ${options.key}` } : {},
  threadId: options.threadId,
  initialMessages: [{ id: options.messageId ?? "message-1", role: "user", content: options.task }],
});

// With dropAfterTexts, the client goes away after that many TEXT_MESSAGE_CONTENT events (abortRun, as a page would on
// a lost connection) and then runs again on the same thread with the messages it holds: the run resumes.
// With resume ({status, payload}), the first run ends with interrupts (approvals) and the second answers every interrupt
// the client holds with that status and payload, built by the client's own buildResumeArray.
// With between, something happens to those interrupts before the second run, outside this client: decide ({key,
// decision}) has another client decide each over REST; awaitDecision waits until each is decided (its deadline).
const runs = [];
const output = { runs, warnings };
const deadline = setTimeout(() => agent.abortRun(), 60_000);
deadline.unref();
for (const runId of options.dropAfterTexts || options.resume ? ["run-1", "run-2"] : [options.runId ?? "run-1"]) {
  const events = [];
  const run = { events };
  runs.push(run);
  let texts = 0;
  // Once the client has aborted, its run's promise may never settle (seen once in CI: node exited with 13, an
  // unsettled top-level await, with nothing left to wait for); the dropped run is then over after a grace period that
  // still lets the chunks of the same network read arrive, and the second run goes on.
  let dropped;
  const abandoned = new Promise((resolve) => { dropped = () => setTimeout(() => resolve({ result: undefined, abandoned: true }), 2000); });
  if (runId === "run-2" && options.between) await between(options.between);
  const resume = runId === "run-2" && options.resume
    ? buildResumeArray(agent.pendingInterrupts, Object.fromEntries(agent.pendingInterrupts.map((i) => [i.id, options.resume])))
    : undefined;
  try {
    const { result, abandoned: gaveUp } = await Promise.race([agent.runAgent(
      { runId, forwardedProps: options.forwardedProps ?? {}, ...(resume ? { resume } : {}) },
      {
        onEvent: ({ event }) => {
          events.push(event);
          if (runId === "run-1" && event.type === "TEXT_MESSAGE_CONTENT" && ++texts === options.dropAfterTexts) {
            agent.abortRun();
            dropped();
          }
        },
      },
    ), abandoned]);
    run.result = result ?? null;
    if (gaveUp) run.abandoned = true;
  } catch (error) {
    run.error = { message: String(error?.message ?? error), status: error?.status ?? null, payload: error?.payload ?? null };
  }
  run.resume = resume ?? null;
  run.pendingInterrupts = structuredClone(agent.pendingInterrupts);
}

async function between({ decide, awaitDecision }) {
  for (const { id } of agent.pendingInterrupts) {
    const [workflowId, approvalId] = id.split(".");
    const route = new URL(`api/v1/workflows/${workflowId}/approvals`, baseUrl);
    if (decide) {
      const res = await fetch(`${route}/${approvalId}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${decide.key}`, "Content-Type": "application/json" },
        body: JSON.stringify({ decision: decide.decision, comment: decide.comment }),
      });
      output.decided = [...(output.decided ?? []), res.status];
    }
    // A request that is never decided keeps this waiting until the test gives up on the script (its timeout).
    while (awaitDecision) {
      const res = await fetch(route, { headers: { Authorization: `Bearer ${options.key}` } });
      const approval = (await res.json()).approvals?.find((a) => a.approval_id === approvalId);
      if (approval?.status !== "pending") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

// One run: its events, result and error at the top level.
Object.assign(output, runs[runs.length - 1], { events: runs.flatMap((r) => r.events) });
output.messages = agent.messages;
output.state = agent.state;
process.stdout.write(JSON.stringify(output));
