#:sdk Microsoft.NET.Sdk.Web
#:property PublishAot=false
// The far end of the invoke benchmark (build/bench.sh): an HTTP tool endpoint that answers at once. `dotnet run echo-peer.cs`
// with ASPNETCORE_URLS; POST /echo answers {"echo": <the JSON body it got>}. The README's tour uses it as its HTTP tool.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
app.MapPost("/echo", async (HttpRequest request) =>
{
    using var reader = new StreamReader(request.Body);
    var body = await reader.ReadToEndAsync();
    return Results.Text($$"""{"echo":{{(body.Length == 0 ? "null" : body)}}}""", "application/json");
});
app.Run();
