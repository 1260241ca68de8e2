namespace Felix.Cli;

/// <summary>What <c>felix</c> returns, for scripts.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked; for <c>run</c>, the workflow completed.</summary>
    public const int Ok = 0;

    /// <summary>The workflow failed or was cancelled, or the server refused the request (e.g. unknown workflow).</summary>
    public const int WorkflowFailed = 1;

    /// <summary>Bad command line or input the server rejected as invalid.</summary>
    public const int Usage = 2;

    /// <summary>The server could not be reached.</summary>
    public const int ServerUnreachable = 3;

    /// <summary>The server refused the API key.</summary>
    public const int AuthenticationFailed = 4;

    /// <summary>Interrupted with Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
