using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Artifacts;
using ModelContextProtocol;

namespace AgentArtifacts.Api.Mcp.Resources;

/// <summary>
/// An artifact as a listing found it, and where to read it: a draft at its head (<c>artifact://{id}</c>), a committed one
/// at its revision (<c>artifact://{id}/revisions/{n}</c>). The revision is the same text as a committed head, and it is what a
/// collection's readers may read (they never see a head), so every listed address is one the caller can read.
/// </summary>
public sealed record ReadableArtifact(Guid Id, string Title, string ContentType, ArtifactState State, int Revision, DateTimeOffset UpdatedAt)
{
    public int? ReadRevision => State == ArtifactState.Draft || Revision < 1 ? null : Revision;

    public string Uri => ArtifactUri.Of(Id, ReadRevision);
}

/// <summary>
/// What MCP lists and reads of the artifacts, through the REST operations: search (<c>searchArtifacts</c>, with no words, so
/// most recently changed first) for listings, <c>getArtifact</c> and <c>batchGetArtifacts</c> for reading. So the grants,
/// the key scopes and the read sets are exactly those of REST, and there is no second rule to keep in step.
/// </summary>
public static class ReadableArtifacts
{
    public const int PageSize = 50;

    /// <summary>
    /// One page of the draft and committed artifacts the caller may find, of the given content types (all when null), and the
    /// cursor of the next page. An artifact found in several places (its workspace, a collection it was published into) is
    /// listed once per address. A credential whose scopes do not allow searching lists nothing. A cursor this service did
    /// not issue is an InvalidParams protocol error.
    /// </summary>
    public static async Task<(IReadOnlyList<ReadableArtifact> Items, string? NextCursor)> PageAsync(RestOperations rest, ClaimsPrincipal user,
        IServiceProvider services, IReadOnlyList<string>? contentTypes, string? cursor, int limit, CancellationToken ct)
    {
        if (!rest.Allows(user, "searchArtifacts")) return ([], null);
        var body = new JsonObject
        {
            ["states"] = new JsonArray("draft", "committed"),
            ["limit"] = limit,
            ["highlight"] = false,
        };
        if (contentTypes is not null) body["contentTypes"] = new JsonArray(contentTypes.Select(t => (JsonNode)t).ToArray());
        if (cursor is not null) body["cursor"] = cursor;

        var answer = await rest.SendAsync(new RestRequest("searchArtifacts") { Body = body }, user, services, ct);
        if (answer.Status == StatusCodes.Status400BadRequest && answer.Body?["code"]?.GetValue<string>() == "invalid_cursor")
        {
            throw new McpProtocolException("The cursor is not one this server issued.", McpErrorCode.InvalidParams);
        }
        if (answer.Status == StatusCodes.Status403Forbidden) return ([], null);
        if (!answer.Succeeded) throw Failed(answer);

        var items = answer.Body!["items"]!.AsArray().OfType<JsonObject>().Select(hit => new ReadableArtifact(
                hit["id"]!.GetValue<Guid>(), hit["title"]!.GetValue<string>(), hit["contentType"]!.GetValue<string>(),
                Enum.Parse<ArtifactState>(hit["state"]!.GetValue<string>(), ignoreCase: true), hit["revision"]!.GetValue<int>(),
                hit["updatedAt"]!.GetValue<DateTimeOffset>()))
            .DistinctBy(a => a.Uri)
            .ToList();
        return (items, answer.Body["nextCursor"]?.GetValue<string>());
    }

    /// <summary>The artifact as <c>GET /artifacts/{id}</c> (or <c>?revision=n</c>) answers it, or null when it is missing or the caller may not read it.</summary>
    public static async Task<JsonObject?> ReadAsync(RestOperations rest, ClaimsPrincipal user, IServiceProvider services, Guid id, int? revision,
        CancellationToken ct)
    {
        var answer = await rest.SendAsync(new RestRequest("getArtifact")
        {
            Route = new Dictionary<string, object?> { ["id"] = id },
            Query = new Dictionary<string, string?> { ["revision"] = revision?.ToString(CultureInfo.InvariantCulture) },
        }, user, services, ct);
        if (answer.Succeeded) return answer.Body as JsonObject;
        // Missing, hidden, outside the key's scopes or its resource list, or a revision it does not have: all the same to a client.
        if (answer.Status is StatusCodes.Status400BadRequest or StatusCodes.Status403Forbidden or StatusCodes.Status404NotFound) return null;
        throw Failed(answer);
    }

    /// <summary>The heads of the listed artifacts the caller may read at their head, by id (one call).</summary>
    public static async Task<IReadOnlyDictionary<Guid, JsonObject>> HeadsAsync(RestOperations rest, ClaimsPrincipal user, IServiceProvider services,
        IEnumerable<Guid> ids, CancellationToken ct)
    {
        var distinct = ids.Distinct().ToArray();
        if (distinct.Length == 0 || !rest.Allows(user, "batchGetArtifacts")) return new Dictionary<Guid, JsonObject>();
        var answer = await rest.SendAsync(new RestRequest("batchGetArtifacts")
        {
            Body = new JsonObject { ["ids"] = new JsonArray(distinct.Select(id => (JsonNode)id.ToString()).ToArray()) },
        }, user, services, ct);
        if (!answer.Succeeded) throw Failed(answer);
        return answer.Body!["items"]!.AsArray().OfType<JsonObject>().ToDictionary(a => a["id"]!.GetValue<Guid>());
    }

    /// <summary>What the listed artifacts read as: the head where the caller reads it, else the listed revision.</summary>
    public static async Task<IReadOnlyList<(ReadableArtifact Listed, JsonObject Artifact)>> ReadAllAsync(RestOperations rest, ClaimsPrincipal user,
        IServiceProvider services, IReadOnlyList<ReadableArtifact> listed, CancellationToken ct)
    {
        var heads = await HeadsAsync(rest, user, services, listed.Select(a => a.Id), ct);
        var read = new List<(ReadableArtifact, JsonObject)>();
        foreach (var item in listed)
        {
            if (heads.TryGetValue(item.Id, out var head)) read.Add((item, head));
            else if (item.ReadRevision is { } n && await ReadAsync(rest, user, services, item.Id, n, ct) is { } revision) read.Add((item, revision));
        }
        return read;
    }

    /// <summary>An answer REST gives only when something is wrong on the server's side (the database, a bug): an internal error.</summary>
    private static McpProtocolException Failed(RestAnswer answer) =>
        new($"{answer.Body?["code"]?.GetValue<string>() ?? "error"}: {answer.Body?["detail"]?.GetValue<string>() ?? "The operation failed."}",
            McpErrorCode.InternalError);
}

/// <summary>The resource addresses of artifacts: <c>artifact://{id}</c> (the head) and <c>artifact://{id}/revisions/{n}</c>.</summary>
public static partial class ArtifactUri
{
    public const string Scheme = "artifact";
    public const string HeadTemplate = "artifact://{id}";
    public const string RevisionTemplate = "artifact://{id}/revisions/{revision}";

    public static string Of(Guid id, int? revision) =>
        revision is { } n ? $"{Scheme}://{id}/revisions/{n.ToString(CultureInfo.InvariantCulture)}" : $"{Scheme}://{id}";

    /// <summary>The artifact and revision an address names; false for anything else (another scheme, a bad id, revision 0).</summary>
    public static bool TryParse(string? uri, out Guid id, out int? revision)
    {
        id = Guid.Empty;
        revision = null;
        var match = Pattern().Match(uri ?? "");
        if (!match.Success || !Guid.TryParse(match.Groups[1].Value, out id)) return false;
        if (!match.Groups[2].Success) return true;
        if (!int.TryParse(match.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1) return false;
        revision = n;
        return true;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^artifact://([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})(?:/revisions/([0-9]{1,10}))?$")]
    private static partial System.Text.RegularExpressions.Regex Pattern();
}
