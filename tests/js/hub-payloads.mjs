// Runs the official SignalR JavaScript client against a Felix Server and prints, per hub protocol, the payload keys of
// every event type it received. Felix.Tests/Hubs/JavaScriptClientTests.cs runs it and compares the two protocols.
//
//   node hub-payloads.mjs <server url> [client method names, comma-separated]
//
// The test passes the client method names from IWorkflowClient (nameof), so this script repeats no wire name the
// contract owns; the list below is only the default for running it by hand. Set FELIX_API_KEY when the server wants a key.
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const [, , baseUrl, methodList] = process.argv;
if (!baseUrl) {
  console.error("usage: node hub-payloads.mjs <server url> [client methods]");
  process.exit(2);
}

const clientMethods = (methodList ??
  "WorkflowStatus,AgentSpawned,AgentOutput,AgentOutputDelta,AgentReasoningDelta,AgentCompleted,SynthesisStarted,WorkflowProgress,WorkflowComplete,WorkflowError")
  .split(",").filter(Boolean);
// nameof(IWorkflowHub.Subscribe), nameof(IWorkflowHub.StreamEvents) and HubPaths.Workflows.
const hub = { path: "hubs/workflows", subscribe: "Subscribe", streamEvents: "StreamEvents" };
const apiKey = process.env.FELIX_API_KEY;
const timeoutMs = 30_000;
const root = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";

async function createWorkflow(task) {
  const response = await fetch(new URL("api/v1/workflows", root), {
    method: "POST",
    headers: { "content-type": "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify({ task, max_steps: 3 }),
  });
  if (response.status !== 202) {
    throw new Error(`POST /api/v1/workflows answered ${response.status}: ${await response.text()}`);
  }
  return (await response.json()).workflow_id;
}

// A timer that cannot keep the process alive or reject before it is awaited.
function deadline(ms, what) {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    timer.unref();
  });
  return { promise, clear: () => clearTimeout(timer) };
}

// Keys of an object, nested objects as dotted paths (synthesis.content), so nested shapes are compared too.
function keyPaths(value, prefix = "") {
  return Object.entries(value).flatMap(([key, inner]) =>
    inner !== null && typeof inner === "object" && !Array.isArray(inner) && !(inner instanceof Uint8Array)
      ? [prefix + key, ...keyPaths(inner, `${prefix}${key}.`)]
      : [prefix + key]);
}

function keysByType(events) {
  const result = {};
  for (const evt of events) {
    const keys = new Set(result[evt.type] ?? []);
    keyPaths(evt).forEach((k) => keys.add(k));
    result[evt.type] = [...keys].sort();
  }
  return result;
}

async function run(protocolName, protocol) {
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(new URL(hub.path, root).toString(), {
      transport: signalR.HttpTransportType.WebSockets,
      ...(apiKey ? { accessTokenFactory: () => apiKey } : {}),
    })
    .withHubProtocol(protocol)
    .configureLogging(signalR.LogLevel.Warning)
    .build();

  const live = [];
  const methodOf = {};
  for (const method of clientMethods) {
    connection.on(method, (evt) => {
      live.push(evt);
      methodOf[evt.type] = method;
    });
  }

  await connection.start();
  const limit = deadline(timeoutMs, `the ${protocolName} run`);
  try {
    const workflowId = await createWorkflow(`Explain quantum computing (${protocolName})`);
    const subscription = await Promise.race([connection.invoke(hub.subscribe, workflowId, null), limit.promise]);
    const streamed = [];
    await Promise.race([
      new Promise((resolve, reject) => {
        connection.stream(hub.streamEvents, workflowId, null, null).subscribe({
          next: (evt) => streamed.push(evt),
          complete: resolve,
          error: reject,
        });
      }),
      limit.promise,
    ]);

    const all = [...subscription.events, ...live, ...streamed];
    return {
      workflowId,
      eventTypes: [...new Set(streamed.map((e) => e.type))],
      counts: { history: subscription.events.length, live: live.length, streamed: streamed.length },
      sequences: streamed.map((e) => e.sequence),
      methodOf,
      subscriptionKeys: Object.keys(subscription).sort(),
      // Top level only: nested values (synthesis, metrics) are null or not depending on how far the run is.
      workflowKeys: Object.keys(subscription.workflow).sort(),
      keys: keysByType(all),
    };
  } finally {
    limit.clear();
    await connection.stop();
  }
}

try {
  const result = {
    json: await run("json", new signalR.JsonHubProtocol()),
    messagepack: await run("messagepack", new MessagePackHubProtocol()),
  };
  console.log(JSON.stringify(result, null, 2));
} catch (error) {
  console.error(error?.stack ?? String(error));
  process.exit(1);
}
