// One AG-UI run against Felix Server with the reference client, @ag-ui/client's HttpAgent (its event validation on).
// Usage: node agui-run.mjs <server base url> '<json: {key, threadId, messageId, task, runId, forwardedProps}>'
// Prints one JSON object: every event the client accepted, its messages and state after the run, the run's result, and
// the error the client raised (its validation refusing an event, or an HTTP status), if any.
import { HttpAgent } from "@ag-ui/client";

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

const events = [];
const output = { events, warnings };
const deadline = setTimeout(() => agent.abortRun(), 60_000);
deadline.unref();
try {
  const { result } = await agent.runAgent(
    { runId: options.runId ?? "run-1", forwardedProps: options.forwardedProps ?? {} },
    { onEvent: ({ event }) => { events.push(event); } },
  );
  output.result = result ?? null;
} catch (error) {
  output.error = { message: String(error?.message ?? error), status: error?.status ?? null, payload: error?.payload ?? null };
}

output.messages = agent.messages;
output.state = agent.state;
process.stdout.write(JSON.stringify(output));
