using System.Globalization;
using System.Security.Claims;
using System.Text;
using Marten;
using Npgsql;
using NpgsqlTypes;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Search;

/// <summary>
/// <c>POST /search</c>: <c>query</c> in the search query language (docs/architecture.md); <c>containerIds</c>, <c>contentTypes</c>
/// and <c>states</c> narrow it further (each a list of alternatives); <c>highlight</c> (default true) adds the snippet and the
/// highlight ranges. An empty query is allowed when one of the lists is given.
/// </summary>
public sealed record SearchRequest(string? Query, IReadOnlyList<Guid>? ContainerIds, IReadOnlyList<string>? ContentTypes,
    IReadOnlyList<string>? States, int? Limit, string? Cursor, bool? Highlight);

/// <summary>Where the matched words are: <c>[start, length]</c> pairs of UTF-16 code units into <c>title</c> and <c>snippet</c>.</summary>
public sealed record SearchHighlights(IReadOnlyList<int[]> Title, IReadOnlyList<int[]> Snippet);

/// <summary>A hit: the artifact head as the search index holds it, its rank and, when asked for, a content snippet.</summary>
public sealed record SearchHit(Guid Id, string Title, string ContentType, Guid? ContainerId, ArtifactState State, int Revision,
    double Score, string? Snippet, SearchHighlights? Highlights);

/// <summary>Counts over every hit the caller may see (all pages), by content type and by state.</summary>
public sealed record SearchFacets(IReadOnlyDictionary<string, long> ContentType, IReadOnlyDictionary<string, long> State);

public sealed record SearchResponse(IReadOnlyList<SearchHit> Items, string? NextCursor, SearchFacets Facets);

public static class SearchArtifactsEndpoint
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;
    private const int MaxListLength = 100;
    private const char Start = '\u0002';
    private const char Stop = '\u0003';

    /// <summary>Full-text search over the artifacts the caller may read (workspace heads: drafts and committed), best match first.</summary>
    [KeyScope("search")]
    [WolverinePost("/search", OperationId = "searchArtifacts"), Tags("Search")]
    [ProducesResponseType<SearchResponse>(200), ProducesResponseType(400)]
    public static Task<IResult> Post(SearchRequest request, ClaimsPrincipal principal, IQuerySession session, NpgsqlDataSource db, CancellationToken ct) =>
        SearchAsync(request, principal, session, db, ct);

    /// <summary>The same search as <c>POST /search</c>, from the query string; lists are comma-separated.</summary>
    [KeyScope("search")]
    [WolverineGet("/search", OperationId = "searchArtifactsByQuery"), Tags("Search")]
    [ProducesResponseType<SearchResponse>(200), ProducesResponseType(400)]
    public static Task<IResult> Get(string? q, string? containerIds, string? contentTypes, string? states, int? limit, string? cursor,
        bool? highlight, ClaimsPrincipal principal, IQuerySession session, NpgsqlDataSource db, CancellationToken ct)
    {
        var containers = new List<Guid>();
        foreach (var part in Split(containerIds))
        {
            if (!Guid.TryParse(part, out var id)) return Task.FromResult(Problems.Invalid("containerIds", $"'{Clip(part)}' is not a container id.", "invalid_container_id"));
            containers.Add(id);
        }
        return SearchAsync(new SearchRequest(q, containerIds is null ? null : containers, contentTypes is null ? null : Split(contentTypes),
            states is null ? null : Split(states), limit, cursor, highlight), principal, session, db, ct);
    }

    private static async Task<IResult> SearchAsync(SearchRequest request, ClaimsPrincipal principal, IQuerySession session, NpgsqlDataSource db,
        CancellationToken ct)
    {
        // Input first: everything below is built from values that were checked here.
        if (Paging.TryRead<string>(request.Limit ?? DefaultLimit, request.Cursor, (string k, out string v) => { v = k; return true; }, out var take, out var cursorText) is { } badPage)
        {
            return badPage;
        }
        if (take > MaxLimit) return Problems.Invalid("limit", $"limit must be between 1 and {MaxLimit}.", "invalid_limit");
        SearchCursor? after = null;
        if (cursorText is not null && !SearchCursor.TryParse(cursorText, out after))
        {
            return Problems.Invalid("cursor", "The cursor is not one this API issued.", "invalid_cursor");
        }

        var containerIds = request.ContainerIds?.Distinct().ToArray() ?? [];
        var contentTypes = request.ContentTypes?.Select(t => t.Trim().ToLowerInvariant()).Where(t => t.Length > 0).Distinct().ToArray() ?? [];
        var states = new List<string>();
        foreach (var s in request.States ?? [])
        {
            if (!Enum.TryParse<ArtifactState>(s.Trim(), ignoreCase: true, out var state) || !Enum.IsDefined(state) || int.TryParse(s, out _))
            {
                return Problems.Invalid("states", $"'{Clip(s)}' is not a state (draft, committed, archived).", "invalid_state");
            }
            states.Add(SearchSql.StateValue(state));
        }
        if (containerIds.Length > MaxListLength || contentTypes.Length > MaxListLength || states.Count > MaxListLength)
        {
            return Problems.Invalid("query", $"containerIds, contentTypes and states hold at most {MaxListLength} values each.");
        }
        var hasFilters = containerIds.Length + contentTypes.Length + states.Count > 0;

        SearchQuery query;
        if (string.IsNullOrWhiteSpace(request.Query) && hasFilters) query = new SearchQuery([]);
        else
        {
            var parsed = SearchQuery.Parse(request.Query);
            if (!parsed.Succeeded) return InvalidQuery(parsed.Error);
            query = parsed.Query;
        }

        var caller = Caller.From(principal);
        var (readable, denied) = await session.ReadSetsAsync(caller, ct);
        if (readable.Count == 0) return Results.Ok(new SearchResponse([], null, new SearchFacets(new Dictionary<string, long>(), new Dictionary<string, long>())));

        // $1 readable resources, $2 denied ones, then the query's parameters, then the request's lists and the page's.
        var parameters = new List<object> { readable.ToArray(), denied.ToArray() };
        var predicate = SearchSql.Translate(query, firstParameter: 3);
        parameters.AddRange(predicate.Parameters);
        string Add(object value)
        {
            parameters.Add(value);
            return $"${parameters.Count}";
        }

        // Whoever reads the workspace reads its heads; a grant on the artifact itself counts too; any deny in the chain hides it.
        var where = new List<string>
        {
            "(s.container_id = any($1) or s.id = any($1))",
            "not (s.id = any($2) or coalesce(s.container_id = any($2), false))",
            predicate.Where,
        };
        if (containerIds.Length > 0) where.Add($"s.container_id = any({Add(containerIds)})");
        if (contentTypes.Length > 0) where.Add($"s.content_type = any({Add(contentTypes)})");
        if (states.Count > 0) where.Add($"s.state = any({Add(states.ToArray())})");
        var filter = string.Join(" and ", where);
        var score = predicate.Match is null ? "0::real" : $"ts_rank_cd(s.search_vector, {predicate.Match})";
        var page = after is null ? "true" : $"(score, updated_at, id) < ({Add(after.Score)}::real, {Add(after.UpdatedAt)}, {Add(after.Id)})";
        var highlight = request.Highlight != false && predicate.Match is not null;
        var marks = $"'StartSel=' || chr(2) || ', StopSel=' || chr(3)";
        var headlines = highlight
            ? $"""
               ts_headline('{SearchSql.DefaultConfig}', translate(h.title, chr(2) || chr(3), ''), {predicate.Match}, {marks} || ', HighlightAll=true'),
               ts_headline('{SearchSql.DefaultConfig}', translate(coalesce(a.data->>'Content', ''), chr(2) || chr(3), ''), {predicate.Match},
                           {marks} || ', MaxFragments=2, MaxWords=30, MinWords=10, FragmentDelimiter=" … "')
               """
            : "null::text, null::text";
        var hitsSql = $"""
            with hits as (
              select s.id, s.title, s.content_type, s.container_id, s.state, s.revision, s.updated_at, {score} as score
              from agentartifacts.{SearchTable.Name} s
              where {filter}
            ),
            page as (
              select * from hits where {page} order by score desc, updated_at desc, id desc limit {take + 1}
            )
            select h.id, h.title, h.content_type, h.container_id, h.state, h.revision, h.updated_at, h.score, {headlines}
            from page h left join agentartifacts.mt_doc_artifact a on a.id = h.id
            order by h.score desc, h.updated_at desc, h.id desc
            """;
        // Every hit the caller may see, not just this page; the cursor's parameters (the last three, when present) are not used.
        var facetsSql = $"""
            select s.content_type, s.state, count(*) from agentartifacts.{SearchTable.Name} s where {filter}
            group by grouping sets ((s.content_type), (s.state))
            """;
        var facetParameterCount = parameters.Count - (after is null ? 0 : 3);

        var rows = new List<(SearchHit Hit, DateTimeOffset UpdatedAt, float Score)>();
        await using (var command = db.CreateCommand(hitsSql))
        {
            foreach (var value in parameters) command.Parameters.Add(Parameter(value));
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var title = reader.GetString(1);
                var rawScore = reader.GetFloat(7);
                SearchHighlights? highlights = null;
                string? snippet = null;
                if (highlight)
                {
                    var (markedTitle, titleRanges) = Unmark(reader.IsDBNull(8) ? title : reader.GetString(8));
                    (snippet, var snippetRanges) = Unmark(reader.IsDBNull(9) ? "" : reader.GetString(9));
                    title = markedTitle;
                    highlights = new SearchHighlights(titleRanges, snippetRanges);
                }
                var hit = new SearchHit(reader.GetGuid(0), title, reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetGuid(3),
                    Enum.Parse<ArtifactState>(reader.GetString(4), ignoreCase: true), reader.GetInt32(5), rawScore, snippet, highlights);
                rows.Add((hit, reader.GetFieldValue<DateTimeOffset>(6), rawScore));
            }
        }

        var byType = new Dictionary<string, long>();
        var byState = new Dictionary<string, long>();
        await using (var command = db.CreateCommand(facetsSql))
        {
            foreach (var value in parameters.Take(facetParameterCount)) command.Parameters.Add(Parameter(value));
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                if (!reader.IsDBNull(0)) byType[reader.GetString(0)] = reader.GetInt64(2);
                else if (!reader.IsDBNull(1)) byState[reader.GetString(1)] = reader.GetInt64(2);
            }
        }

        // An API key narrowed to some content types finds only those it may search (as in the container listings, after the key range).
        var visible = rows.Take(take).Where(r => caller.ScopeAllows(r.Hit.ContentType, "search") && caller.ResourceAllowed(r.Hit.Id, r.Hit.ContainerId))
            .Select(r => r.Hit).ToList();
        var next = rows.Count > take ? Paging.Encode(new SearchCursor(rows[take - 1].Score, rows[take - 1].UpdatedAt, rows[take - 1].Hit.Id).ToString()) : null;
        return Results.Ok(new SearchResponse(visible, next, new SearchFacets(byType, byState)));
    }

    private static IResult InvalidQuery(SearchQueryError error)
    {
        var problem = Problems.Create(StatusCodes.Status400BadRequest, "invalid_query", error.Message);
        problem.Extensions["position"] = error.Position;
        problem.Extensions["errors"] = new Dictionary<string, string[]> { ["query"] = [error.Message] };
        return Problems.Result(problem);
    }

    private static NpgsqlParameter Parameter(object value) => value switch
    {
        Guid[] ids => new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid },
        string[] texts => new NpgsqlParameter { Value = texts, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
        _ => new NpgsqlParameter { Value = value },
    };

    /// <summary>Turns ts_headline's marks into plain text and <c>[start, length]</c> ranges, so no markup reaches a client.</summary>
    private static (string Text, IReadOnlyList<int[]> Ranges) Unmark(string marked)
    {
        var text = new StringBuilder(marked.Length);
        var ranges = new List<int[]>();
        var open = -1;
        foreach (var c in marked)
        {
            if (c == Start) open = text.Length;
            else if (c == Stop && open >= 0)
            {
                if (text.Length > open) ranges.Add([open, text.Length - open]);
                open = -1;
            }
            else text.Append(c);
        }
        return (text.ToString(), ranges);
    }

    private static List<string> Split(string? list) =>
        (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    private static string Clip(string value) => value.Length <= 64 ? value : value[..64] + "…";

    /// <summary>The last hit of a page: its score (as the exact float bits), <c>updated_at</c> and id.</summary>
    private sealed record SearchCursor(float Score, DateTimeOffset UpdatedAt, Guid Id)
    {
        public override string ToString() => string.Join('|', BitConverter.SingleToInt32Bits(Score).ToString(CultureInfo.InvariantCulture),
            UpdatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture), Id.ToString("N"));

        public static bool TryParse(string text, out SearchCursor? cursor)
        {
            cursor = null;
            var parts = text.Split('|');
            if (parts.Length != 3 || !int.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bits)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                || ticks > DateTimeOffset.MaxValue.UtcTicks || !Guid.TryParseExact(parts[2], "N", out var id))
            {
                return false;
            }
            var score = BitConverter.Int32BitsToSingle(bits);
            if (!float.IsFinite(score)) return false;
            cursor = new SearchCursor(score, new DateTimeOffset(ticks, TimeSpan.Zero), id);
            return true;
        }
    }
}
