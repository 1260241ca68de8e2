namespace Felix.Bench.Soak;

/// <summary>Runs every loop until the deadline, reports the counts each minute and at the end, writes the created ids.</summary>
internal static class ChurnRun
{
    public static async Task RunAsync(SoakOptions options)
    {
        var soak = new SoakContext(options);
        var loops = new List<Task>();
        loops.AddRange(Enumerable.Range(0, options.Creators).Select(slot => CreatorLoop.RunAsync(soak, slot)));
        loops.AddRange(Enumerable.Range(0, options.RawSockets).Select(_ => RawSocketLoop.RunAsync(soak)));
        loops.AddRange(Enumerable.Range(0, options.Hubs).Select(_ => HubLoop.RunAsync(soak)));
        loops.AddRange(Enumerable.Range(0, options.SystemHubs).Select(_ => SystemHubLoop.RunAsync(soak)));
        loops.AddRange(Enumerable.Range(0, options.AgUi).Select(_ => AgUiLoop.RunAsync(soak)));
        Console.WriteLine($"churn: {options.Minutes} min against {options.BaseUrl}, loops: creators={options.Creators} " +
            $"raw-sockets={options.RawSockets} hubs={options.Hubs} system-hubs={options.SystemHubs} agui={options.AgUi}");

        var all = Task.WhenAll(loops);
        while (await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(1))) != all)
        {
            Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} workflows={soak.CreatedCount} " +
                string.Join(' ', soak.Counts.Select(c => $"{c.Key}={c.Value}")));
        }

        await all;
        Console.WriteLine($"churn done {DateTime.UtcNow:HH:mm:ss}: {soak.CreatedCount} workflows created over REST");
        foreach (var (name, value) in soak.Counts)
        {
            Console.WriteLine($"  {name} = {value}");
        }

        await File.WriteAllLinesAsync(options.IdsFile, soak.CreatedIds);
        Console.WriteLine($"ids written to {options.IdsFile}");
    }
}
