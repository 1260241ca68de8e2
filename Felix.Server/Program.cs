using Felix.Server;

var builder = WebApplication.CreateBuilder(args);
builder.AddFelix();

var app = builder.Build();
app.MapFelix();
app.Run();
