using Felix.Bench.Host;
using Felix.Server;
using Felix.Server.Platform;

// The server exactly as Felix.Server runs it, with the benchmark endpoints added (admin only): synthetic workflows,
// paced publishing through the real publisher, process counters. Nothing of it ships in the product.
var builder = WebApplication.CreateBuilder(FelixStartupExtensions.BuilderOptions(args));
builder.AddFelix();
return await builder.RunFelixAsync(app =>
{
    app.MapFelix();
    app.MapBenchApi();
});
