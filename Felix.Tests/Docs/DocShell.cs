using System.Diagnostics;
using System.Text;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Docs;

/// <summary>
/// Runs the docs' shell commands in bash from the repository root, as a reader would, with two substitutions the docs
/// cannot avoid: <c>localhost:8000</c> is the test's server, and <c>dotnet run --project P</c> runs P's program as the
/// test build already built it (<c>dotnet build</c> is then a no-op), so that no test starts a second build.
/// </summary>
internal static class DocShell
{
    public static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(120);

    private const string Prelude = """
        set -euo pipefail
        dotnet() {
          if [ "${1:-}" = run ]; then
            shift
            local project="" args=()
            while [ $# -gt 0 ]; do
              case "$1" in
                --project) project="$2"; shift 2 ;;
                -c|--configuration) shift 2 ;;
                --) shift; args+=("$@"); break ;;
                *) args+=("$1"); shift ;;
              esac
            done
            local name; name=$(basename "$project")
            # The launch profile's environment; the server listens where the test says (the last --urls wins).
            if [ "$name" = Felix.Server ]; then args+=(--urls "$FELIX_DOC_TEST_URL"); export ASPNETCORE_ENVIRONMENT=Development; fi
            (cd "$project" && command dotnet "bin/$FELIX_DOC_TEST_CONFIGURATION/net10.0/$name.dll" "${args[@]}")
          elif [ "${1:-}" = build ]; then
            return 0
          else
            command dotnet "$@"
          fi
        }

        """;

    /// <summary>A bash process for <paramref name="script"/> (the docs' text, addresses replaced), with a private data directory.</summary>
    public static ProcessStartInfo StartInfo(string script, Uri server, string dataDirectory)
    {
        var text = Prelude + script.Replace("localhost:8000", $"{server.Host}:{server.Port}", StringComparison.Ordinal);
        var start = ChildProcess.StartInfo("bash", ["-c", text], ChildProcess.RepositoryRoot).WithApiKey(null);
        start.Environment["FELIX_URL"] = server.ToString();
        start.Environment["FELIX_DOC_TEST_URL"] = server.ToString().TrimEnd('/');
        start.Environment["FELIX_DOC_TEST_CONFIGURATION"] = ChildProcess.BuildConfiguration;
        start.Environment["Felix__Storage__DataDirectory"] = dataDirectory;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        return start;
    }

    /// <summary>A server block started in the background, stopped (with its process tree) on dispose.</summary>
    public sealed class Server : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly string _dataDirectory;

        private Server(Process process, Uri url, string dataDirectory)
        {
            _process = process;
            Url = url;
            _dataDirectory = dataDirectory;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Uri Url { get; }

        public string DataDirectory => _dataDirectory;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        /// <summary>Starts <paramref name="block"/> and waits until the server answers <c>/health</c>.</summary>
        public static async Task<Server> StartAsync(DocCodeBlock block)
        {
            var url = new Uri($"http://127.0.0.1:{LoopbackPort.Unused()}/");
            var data = Directory.CreateTempSubdirectory("felix-doc-test-").FullName;
            var server = new Server(Process.Start(StartInfo(block.Code, url, data))!, url, data);
            server._process.StandardInput.Close();
            using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(5) };
            await Poll.UntilAsync(
                async () =>
                {
                    Assert.False(server._process.HasExited, $"{block.Where} exited with {(server._process.HasExited ? server._process.ExitCode : 0)}:\n{server.Output}");
                    try
                    {
                        return (await http.GetAsync("health")).IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                $"{block.Where} to answer /health on {url}",
                TimeSpan.FromSeconds(60));
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            _process.Dispose();
            Directory.Delete(_dataDirectory, recursive: true);
        }

        private void Append(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
