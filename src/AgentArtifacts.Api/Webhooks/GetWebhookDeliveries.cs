using System.Globalization;
using System.Security.Claims;
using Marten;
using Npgsql;

namespace AgentArtifacts.Api.Webhooks;

public static class GetWebhookDeliveriesEndpoint
{
    /// <summary>
    /// The deliveries to one of your endpoints, newest first, each with its attempts (time, status, duration, response excerpt,
    /// next retry). <c>state</c> keeps only <c>pending</c>, <c>succeeded</c> or <c>failed</c> ones.
    /// </summary>
    /// <param name="state">Only deliveries in this state: <c>pending</c>, <c>succeeded</c> or <c>failed</c>.</param>
    [WolverineGet("/webhooks/{id}/deliveries", OperationId = "listWebhookDeliveries"), Tags("Webhooks")]
    [ProducesResponseType<Page<WebhookDeliveryResponse>>(200), ProducesResponseType(400), ProducesResponseType(404)]
    public static async Task<IResult> List(Guid id, int? limit, string? cursor, string? state, ClaimsPrincipal principal, IQuerySession session,
        NpgsqlDataSource db, CancellationToken ct)
    {
        if (Paging.TryRead<long>(limit, cursor, (string s, out long v) => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v),
                out var take, out var before) is { } badPage)
        {
            return badPage;
        }
        if (state is not null && !DeliveryState.All.Contains(state))
        {
            return Problems.Invalid("state", "state is pending, succeeded or failed.", "invalid_state");
        }
        if (await session.LoadOwnAsync(id, Caller.From(principal), ct) is null) return Problems.NotFound("webhook");
        var rows = await WebhookDeliveries.ListAsync(db, WebhookDeliveries.Schema(session.DocumentStore), id, state, cursor is null ? null : before, null,
            take + 1, ct);
        return Results.Ok(Paging.ToPage(rows, take, r => r.Ord.ToString(CultureInfo.InvariantCulture), r => r.Delivery));
    }
}
