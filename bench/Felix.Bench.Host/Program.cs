using Felix.Bench.Host;
using Felix.Server;
using Felix.Server.Platform;

// The server exactly as Felix.Server runs it, with the benchmark endpoints added (admin only): synthetic workflows,
// paced publishing through the real publisher, process counters. Nothing of it ships in the product.
var builder = WebApplication.CreateBuilder(FelixStartupExtensions.BuilderOptions(args));
builder.AddFelix();
builder.Services.AddSingleton<PublishedEventCounter>();
return await builder.RunFelixAsync(app =>
{
    app.MapFelix();
    app.MapBenchApi();
    // Listening from the start, so that the count covers every event the server publishes.
    _ = app.Services.GetRequiredService<PublishedEventCounter>();
});
