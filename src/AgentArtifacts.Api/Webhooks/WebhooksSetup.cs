namespace AgentArtifacts.Api.Webhooks;

public static class WebhooksSetup
{
    /// <summary>Options (<c>Webhooks:*</c>), the selection of events, and one deliverer per node (see <see cref="WebhookDeliverer"/>).</summary>
    public static void AddWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<WebhookOptions>(builder.Configuration.GetSection("Webhooks"));
        builder.Services.AddSingleton<WebhookEvents>();
        builder.Services.AddSingleton<WebhookDeliverer>();
        builder.Services.AddHostedService(s => s.GetRequiredService<WebhookDeliverer>());
    }
}
