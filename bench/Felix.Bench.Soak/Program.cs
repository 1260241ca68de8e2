using Felix.Bench.Soak;

SoakOptions options;
try
{
    options = SoakOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(SoakOptions.Usage);
    return 2;
}

if (options.CheckFile is not null)
{
    return await HistoryCheck.RunAsync(options) ? 0 : 1;
}

await ChurnRun.RunAsync(options);
return 0;
