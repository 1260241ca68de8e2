using System.ClientModel;
using System.Net;
using Felix.Server.Agents;
using Felix.Server.Platform;
using Polly.Timeout;

namespace Felix.Server.Workflows;

/// <summary>Turns a failure into a message a user can act on, without internal details.</summary>
internal static class WorkflowErrors
{
    /// <summary>Why a workflow failed when the server stopped (or died) before it finished.</summary>
    public const string Interrupted = "Interrupted: the server stopped before the workflow finished.";

    public static string GaveUp(int attempts) =>
        $"Gave up: the workflow's run was interrupted {attempts} times without finishing.";

    public const string StorageUnavailable = "Storage unavailable: the workflow could not be written for too long.";

    public const string NotQueued = "Not started: the workflow could not be queued; create it again.";

    /// <summary>For the log: each exception's type and message down the chain of inner exceptions, on one line.</summary>
    public static string Cause(Exception exception)
    {
        var parts = new List<string>();
        for (var current = exception; current is not null && parts.Count < 4; current = current.InnerException)
        {
            parts.Add($"{current.GetType().Name}: {current.Message}");
        }

        return SafeText.Escape(string.Join(" <- ", parts));
    }

    /// <summary>
    /// A 404 is nearly always the configuration: a base address without <c>/v1</c> (the request goes to a path the
    /// server does not have) or a model the server does not have. Which one, only the server's answer tells, in words
    /// that differ from server to server; both settings are named instead.
    /// </summary>
    public const string ModelEndpointNotFound =
        "The language model endpoint answered HTTP 404: check Felix:Llm:Endpoint (the API's base address, which usually ends with /v1) "
        + "and Felix:Llm:Model (a model the server has).";

    /// <summary>A key the model server refuses (401) or that may not use the model (403) is the configuration too.</summary>
    private static string KeyRefused(int status) =>
        $"The language model endpoint answered HTTP {status}: check Felix:Llm:ApiKey (the key the model server expects).";

    public static string Describe(Exception exception) => exception switch
    {
        HttpRequestException { StatusCode: HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden } http => KeyRefused((int)http.StatusCode!),
        ClientResultException { Status: StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden } refused => KeyRefused(refused.Status),
        HttpRequestException { StatusCode: HttpStatusCode.NotFound }
            or ClientResultException { Status: StatusCodes.Status404NotFound } => ModelEndpointNotFound,
        HttpRequestException http when http.StatusCode is { } status =>
            $"The language model endpoint answered HTTP {(int)status} ({status}).",
        HttpRequestException => "The language model endpoint could not be reached.",
        ClientResultException { Status: 0 } => "The language model endpoint could not be reached.",
        ClientResultException result => $"The language model endpoint answered HTTP {result.Status}.",
        TimeoutRejectedException or TimeoutException => "The language model did not answer in time.",
        ModelAnswerException answer => answer.Message,
        _ => "The workflow failed with an internal error; the server log has the details.",
    };
}
