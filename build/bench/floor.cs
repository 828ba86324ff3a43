#:sdk Microsoft.NET.Sdk.Web
#:package Npgsql
#:property PublishAot=false
// The HTTP floor of the create and read benchmark (build/bench.sh): the thinnest ASP.NET Core service that runs the same
// statements as the pgbench baselines, so the gap between pgbench and the API splits into what HTTP and .NET cost at all
// (pgbench → floor) and what the service adds (floor → API). `dotnet run floor.cs` with ASPNETCORE_URLS and
// ConnectionStrings__Postgres; POST /rows inserts its JSON body as bench.bench_insert's row, GET /rows/{k} reads
// bench.bench_select's row k. No authentication, validation, events or projections: that is the point.
using Npgsql;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var db = NpgsqlDataSource.Create(builder.Configuration.GetConnectionString("Postgres")
    ?? throw new InvalidOperationException("ConnectionStrings__Postgres is not set."));
var app = builder.Build();

app.MapPost("/rows", async (HttpRequest request) =>
{
    using var reader = new StreamReader(request.Body);
    var body = await reader.ReadToEndAsync();
    var id = Guid.CreateVersion7();
    await using var insert = db.CreateCommand("insert into bench.bench_insert (id, data) values ($1, $2::jsonb)");
    insert.Parameters.AddWithValue(id);
    insert.Parameters.AddWithValue(body);
    await insert.ExecuteNonQueryAsync();
    return Results.Text($$"""{"id":"{{id}}"}""", "application/json", statusCode: 201);
});

app.MapGet("/rows/{k:long}", async (long k) =>
{
    await using var select = db.CreateCommand("select id, data::text from bench.bench_select where k = $1");
    select.Parameters.AddWithValue(k);
    await using var row = await select.ExecuteReaderAsync();
    if (!await row.ReadAsync()) return Results.NotFound();
    return Results.Text($$"""{"id":"{{row.GetGuid(0)}}","data":{{row.GetString(1)}}}""", "application/json");
});

app.Run();
