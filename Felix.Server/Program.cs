using Felix.Server;
using Felix.Server.Platform;

var builder = WebApplication.CreateBuilder(FelixStartupExtensions.BuilderOptions(args));
builder.AddFelix();
return await builder.RunFelixAsync(app => app.MapFelix());
