using Felix.Client;
using Felix.Contracts.Events;
using Spectre.Console;

namespace Felix.Cli;

/// <summary>
/// Follows one workflow to its end for <c>run</c> and <c>watch</c>: through <see cref="FelixClient.WatchAsync(string, WatchOptions?, CancellationToken)"/>,
/// which resumes after the last sequence it delivered when the connection drops, so the display sees every event once.
/// </summary>
internal static class WorkflowFollower
{
    /// <summary>How a run is shown: <c>--json</c> wins, then the live view on an interactive terminal, else plain lines.</summary>
    public static IRunDisplay ChooseDisplay(bool json, bool noLive, TextWriter output, TextWriter error) =>
        json ? new JsonRunDisplay(output, error)
        : IsLive(noLive) ? new LiveRunDisplay(AnsiConsole.Console)
        : new PlainRunDisplay(output);

    public static bool IsLive(bool noLive) => !noLive && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>What a watch shows while it waits as the server asked (a drain answers 503 with <c>Retry-After</c>).</summary>
    public static string WaitingLine(System.Net.HttpStatusCode status, TimeSpan wait) =>
        $"Server not taking connections now ({(int)status} {(status == System.Net.HttpStatusCode.TooManyRequests ? "Too Many Requests" : "Service Unavailable")}); " +
        $"retrying in {Format.Seconds(wait)} s, as it asked";

    /// <summary>Shows the events until the terminal one; the exit code says how the workflow ended.</summary>
    public static async Task<int> FollowAsync(
        FelixClient client, string workflowId, IRunDisplay display, TextWriter error, CancellationToken cancellationToken)
    {
        try
        {
            var watch = new WatchOptions { OnResuming = display.Resuming, OnRetryAfter = display.Waiting };
            var terminal = await display.FollowAsync(client.WatchAsync(workflowId, watch, cancellationToken), cancellationToken);
            display.Finished(terminal);
            return terminal is WorkflowCompleteEvent ? ExitCodes.Ok : ExitCodes.WorkflowFailed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine($"Interrupted: stopped watching; the workflow goes on ('felix cancel {workflowId}' stops it, 'felix watch {workflowId}' follows it again).");
            return ExitCodes.Interrupted;
        }
    }
}
