using Microsoft.Extensions.Logging.Console;

namespace Felix.Server.Platform;

internal static partial class FelixStartupExtensions
{
    /// <summary>The start-up checks; features add theirs as <see cref="IStartupCheck"/> singletons.</summary>
    public static IServiceCollection AddStartupChecks(this IServiceCollection services)
    {
        services.AddSingleton<FelixStartup>();
        // A lifecycle service's StartingAsync runs before any hosted service's StartAsync (recovery, engine, listeners).
        services.AddHostedService(sp => sp.GetRequiredService<FelixStartup>());
        return services;
    }

    /// <summary>
    /// The content root is the application's directory, not the working directory, so a published server reads its
    /// <c>appsettings.json</c> and finds its relative <c>Felix:Storage:DataDirectory</c> the same from anywhere. A content
    /// root given explicitly (<c>--contentRoot</c>, <c>ASPNETCORE_CONTENTROOT</c>, <c>DOTNET_CONTENTROOT</c>, or the test
    /// host's) still wins: setting one here as well would make the host refuse the change.
    /// The settings files are read once, unless <c>hostBuilder:reloadConfigOnChange</c> is given: watching them watches
    /// the whole content root, data directory included, so every write of the event log would wake the watcher's thread.
    /// Felix reads its settings at start.
    /// </summary>
    public static WebApplicationOptions BuilderOptions(string[] args)
    {
        var given = new ConfigurationBuilder()
            .AddEnvironmentVariables("DOTNET_")
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args)
            .Build();
        var contentRoot = given[HostDefaults.ContentRootKey];
        string[] hostArgs = given[ReloadConfigOnChangeKey] is null ? [.. args, $"--{ReloadConfigOnChangeKey}=false"] : args;
        return new WebApplicationOptions { Args = hostArgs, ContentRootPath = string.IsNullOrEmpty(contentRoot) ? AppContext.BaseDirectory : null };
    }

    private const string ReloadConfigOnChangeKey = "hostBuilder:reloadConfigOnChange";

    /// <summary>Console lines as the server writes them: one line per entry, UTC timestamp first.</summary>
    public static void ConfigureConsole(SimpleConsoleFormatterOptions console)
    {
        console.SingleLine = true;
        console.UseUtcTimestamp = true;
        console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
    }

    /// <summary>
    /// Builds the app, maps it, checks settings, credentials and the data directory, then runs until shutdown. Returns the
    /// process exit code: 1 when the server refused to start (each problem logged on one line, no stack), 0 after a
    /// normal stop. Anything else that goes wrong is not a configuration problem and keeps its stack.
    /// </summary>
    public static async Task<int> RunFelixAsync(this WebApplicationBuilder builder, Action<WebApplication> map)
    {
        WebApplication? app = null;
        try
        {
            // Building reads options too (the host's shutdown timeout comes from Felix:Workflows), so it is inside.
            app = builder.Build();
            // Before mapping: endpoints resolve services that read options, and the first invalid one would hide the rest.
            app.Services.GetRequiredService<FelixStartup>().Check();
            map(app);
        }
        catch (Exception ex) when (FelixStartup.Problems(ex) is { Count: > 0 } problems)
        {
            // Without a built app there is no logger yet: the same console, on its own.
            using var fallback = app is null ? LoggerFactory.Create(logging => logging.AddSimpleConsole(ConfigureConsole)) : null;
            var logger = (fallback ?? app!.Services.GetRequiredService<ILoggerFactory>()).CreateLogger(typeof(FelixStartup).FullName!);
            foreach (var problem in problems)
            {
                LogRefused(logger, problem);
            }

            if (app is not null)
            {
                // Disposing flushes the console logger's queue; nothing was started, so nothing else runs.
                await app.DisposeAsync();
            }

            return 1;
        }

        app.LogStartup();
        await app.RunAsync();
        return 0;
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Critical, Message = "Not starting: {Problem}")]
    private static partial void LogRefused(ILogger logger, string problem);
}
