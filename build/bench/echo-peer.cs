#:sdk Microsoft.NET.Sdk.Web
#:property PublishAot=false
// The far end of the invoke benchmark (build/bench.sh): an HTTP tool endpoint that answers at once. `dotnet run echo-peer.cs`
// with ASPNETCORE_URLS; POST /echo reads the body and answers {"ok":true,"size":<bytes read>}.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
app.MapPost("/echo", async (HttpRequest request) =>
{
    using var body = new MemoryStream();
    await request.Body.CopyToAsync(body);
    return Results.Text($$"""{"ok":true,"size":{{body.Length}}}""", "application/json");
});
app.Run();
