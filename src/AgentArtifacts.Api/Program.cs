using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Mcp;
using AgentArtifacts.Api.Platform;
using AgentArtifacts.Api.Runs;
using AgentArtifacts.Api.Types;
using AgentArtifacts.Api.Webhooks;
using JasperFx;
using Scalar.AspNetCore;
using Wolverine.Http;

var builder = WebApplication.CreateBuilder(args);

builder.AddEventStore();
builder.AddMessaging();
builder.AddAuth();
builder.AddApiConventions();
builder.AddPlatform();
AgentArtifacts.Api.StoredSecrets.SecretsSetup.AddSecrets(builder);
builder.Services.AddSingleton<AgentArtifacts.Api.Commits.CommitTokens>();
builder.AddRuns();
AgentArtifacts.Api.Events.EventFeedSetup.AddEvents(builder);
builder.Services.AddSingleton(AgentArtifacts.Api.Search.SearchLanguage.From(builder.Configuration));
builder.AddMcp();
builder.AddWebhooks();
builder.Services.AddSingleton(TypeRegistry.LoadFrom(Path.Combine(AppContext.BaseDirectory, "types")));

var app = builder.Build();

app.UseApiConventions();
app.MapOpenApi("/openapi.json");
// "Try it" signs in with the OAuth2 password grant (credentials in the form body, as the token endpoint expects from a public client).
app.MapScalarApiReference("/docs", o => o.WithOpenApiRoutePattern("/openapi.json").WithTitle("AgentArtifacts API")
    .AddPreferredSecuritySchemes(["oauth2"])
    .AddPasswordFlow("oauth2", flow => flow.WithTokenUrl("/auth/token").WithCredentialsLocation(CredentialsLocation.Body))
    .EnablePersistentAuthentication());
app.MapWolverineEndpoints(WolverineHttpSetup.Configure);
app.MapMcpEndpoints();

return await app.RunJasperFxCommands(args);

public partial class Program;
