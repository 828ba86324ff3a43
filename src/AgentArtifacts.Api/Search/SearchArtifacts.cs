using System.Globalization;
using FluentValidation;
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
/// <param name="Query">What to find (at most 1000 characters): words (matched stemmed), <c>"phrases"</c>, <c>OR</c> between words or phrases, <c>-</c> to exclude, and filters <c>type:</c>, <c>tag:</c>, <c>state:</c>, <c>container:</c>, <c>created:</c>, <c>updated:</c> (e.g. <c>retry "back off" type:text/* updated:>=2026-01-01</c>). May be empty or left out when a list below is given.</param>
/// <param name="ContainerIds">Only artifacts in one of these workspaces or collections (at most 100).</param>
/// <param name="ContentTypes">Only artifacts of one of these content types; <c>*</c> matches any run of characters (e.g. <c>text/*</c>, <c>application/vnd.*+json</c>; at most 100).</param>
/// <param name="States">Only artifacts in one of these states: <c>draft</c>, <c>committed</c>, <c>archived</c>.</param>
/// <param name="Limit">At most this many hits (1 to 100). Default: 20.</param>
/// <param name="Cursor">Where the page starts: the previous page's <c>nextCursor</c>. Leave out for the first page.</param>
/// <param name="Highlight">Whether to add each hit's <c>snippet</c> and <c>highlights</c>. Default: true.</param>
public sealed record SearchRequest(string? Query, IReadOnlyList<Guid>? ContainerIds, IReadOnlyList<string>? ContentTypes,
    IReadOnlyList<string>? States, int? Limit, string? Cursor, bool? Highlight)
{
    /// <summary>Only the shape JSON cannot state: list items are strings, never null. The rest needs the search language.</summary>
    public sealed class Validator : AbstractValidator<SearchRequest>
    {
        public Validator()
        {
            RuleForEach(x => x.ContentTypes).NotNull().WithMessage("contentTypes holds strings, not null.");
            RuleForEach(x => x.States).NotNull().WithMessage("states holds strings, not null.");
        }
    }
}

/// <summary>Where the matched words are: <c>[start, length]</c> pairs of UTF-16 code units into <c>title</c> and <c>snippet</c>.</summary>
/// <param name="Title">The matches in <c>title</c>.</param>
/// <param name="Snippet">The matches in <c>snippet</c>.</param>
public sealed record SearchHighlights(IReadOnlyList<int[]> Title, IReadOnlyList<int[]> Snippet);

/// <summary>A hit: the artifact head as the search index holds it, its rank and, when asked for, a content snippet.</summary>
/// <param name="Id">The artifact's id.</param>
/// <param name="Title">Its title.</param>
/// <param name="ContentType">Its content type.</param>
/// <param name="ContainerId">Where it was found: the workspace that holds it, or a collection it was published into.</param>
/// <param name="State">Its state (in a collection, the published revision's: <c>committed</c> or <c>archived</c>).</param>
/// <param name="Revision">Its last committed revision (in a collection, the one published there); 0 before the first commit.</param>
/// <param name="UpdatedAt">When it last changed (ISO 8601, UTC; in a collection, when the revision published there was committed).</param>
/// <param name="Score">How well it matches the words and phrases (higher is better; hits come best first); 0 for a query of filters only.</param>
/// <param name="Snippet">Up to two fragments of the content around the matches, joined by " … "; null when highlighting is off or the query has no words or phrases.</param>
/// <param name="Highlights">Where the matches are in <c>title</c> and <c>snippet</c>; null when <c>snippet</c> is.</param>
public sealed record SearchHit(Guid Id, string Title, string ContentType, Guid? ContainerId, ArtifactState State, int Revision,
    DateTimeOffset UpdatedAt, double Score, string? Snippet, SearchHighlights? Highlights);

/// <summary>Counts over every hit the caller may see (all pages), by content type and by state.</summary>
/// <param name="ContentType">How many hits of each content type.</param>
/// <param name="State">How many hits in each state (<c>draft</c>, <c>committed</c>, <c>archived</c>).</param>
public sealed record SearchFacets(IReadOnlyDictionary<string, long> ContentType, IReadOnlyDictionary<string, long> State);

/// <summary>A page of search hits, and counts over all of them.</summary>
/// <param name="Items">This page's hits, best match first (then most recently updated).</param>
/// <param name="NextCursor">Pass as <c>cursor</c> (with the same query) to get the next page; null on the last page.</param>
/// <param name="Facets">Counts over every hit, not just this page.</param>
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
    [ReadsProjections(typeof(SearchProjection))]
    [WolverinePost("/search", OperationId = "searchArtifacts"), Tags("Search")]
    [ProducesResponseType<SearchResponse>(200), ProducesResponseType(400)]
    public static Task<IResult> Post(SearchRequest request, ClaimsPrincipal principal, IQuerySession session, NpgsqlDataSource db,
        SearchLanguage language, CancellationToken ct) =>
        SearchAsync(request, principal, session, db, language, ct);

    /// <summary>The same search as <c>POST /search</c>, from the query string; lists are comma-separated.</summary>
    /// <param name="q">What to find, in the search query language: words, <c>"phrases"</c>, <c>OR</c>, <c>-</c> to exclude, and filters <c>type:</c>, <c>tag:</c>, <c>state:</c>, <c>container:</c>, <c>created:</c>, <c>updated:</c> (at most 1000 characters). May be left out when a list below is given.</param>
    /// <param name="containerIds">Only artifacts in one of these workspaces or collections: ids, comma-separated (at most 100).</param>
    /// <param name="contentTypes">Only artifacts of one of these content types, comma-separated; <c>*</c> matches any run of characters (e.g. <c>text/*</c>).</param>
    /// <param name="states">Only artifacts in one of these states, comma-separated: <c>draft</c>, <c>committed</c>, <c>archived</c>.</param>
    /// <param name="limit">At most this many hits (1 to 100; default 20).</param>
    /// <param name="highlight">Whether to add each hit's <c>snippet</c> and <c>highlights</c> (default true).</param>
    [KeyScope("search")]
    [ReadsProjections(typeof(SearchProjection))]
    [WolverineGet("/search", OperationId = "searchArtifactsByQuery"), Tags("Search")]
    [ProducesResponseType<SearchResponse>(200), ProducesResponseType(400)]
    public static Task<IResult> Get(string? q, string? containerIds, string? contentTypes, string? states, int? limit, string? cursor,
        bool? highlight, ClaimsPrincipal principal, IQuerySession session, NpgsqlDataSource db, SearchLanguage language, CancellationToken ct)
    {
        var containers = new List<Guid>();
        foreach (var part in Split(containerIds))
        {
            if (!Guid.TryParse(part, out var id)) return Task.FromResult(Problems.Invalid("containerIds", $"'{Clip(part)}' is not a container id.", "invalid_container_id"));
            containers.Add(id);
        }
        return SearchAsync(new SearchRequest(q, containerIds is null ? null : containers, contentTypes is null ? null : Split(contentTypes),
            states is null ? null : Split(states), limit, cursor, highlight), principal, session, db, language, ct);
    }

    private static async Task<IResult> SearchAsync(SearchRequest request, ClaimsPrincipal principal, IQuerySession session, NpgsqlDataSource db,
        SearchLanguage language, CancellationToken ct)
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
        var contentTypes = new List<TypeFilter>();
        foreach (var t in (request.ContentTypes ?? []).Select(t => t.Trim()).Where(t => t.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (TypeFilter.TryCreate(t) is not { } type)
            {
                return Problems.Invalid("contentTypes", $"'{Clip(t)}' is not a content type or a wildcard such as text/* or application/vnd.*+json.", "invalid_content_type");
            }
            contentTypes.Add(type);
        }
        var states = new List<string>();
        foreach (var s in request.States ?? [])
        {
            if (!Enum.TryParse<ArtifactState>(s.Trim(), ignoreCase: true, out var state) || !Enum.IsDefined(state) || int.TryParse(s, out _))
            {
                return Problems.Invalid("states", $"'{Clip(s)}' is not a state (draft, committed, archived).", "invalid_state");
            }
            states.Add(SearchSql.StateValue(state));
        }
        if (containerIds.Length > MaxListLength || contentTypes.Count > MaxListLength || states.Count > MaxListLength)
        {
            return Problems.Invalid("query", $"containerIds, contentTypes and states hold at most {MaxListLength} values each.");
        }
        var hasFilters = containerIds.Length + contentTypes.Count + states.Count > 0;

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

        // $1 readable resources, $2 denied ones, then each predicate's parameters in turn, then the page's.
        var parameters = new List<object> { readable.ToArray(), denied.ToArray() };
        string Add(object value)
        {
            parameters.Add(value);
            return $"${parameters.Count}";
        }
        string Merge(Func<int, SearchPredicate> translate)
        {
            var translated = translate(parameters.Count + 1);
            parameters.AddRange(translated.Parameters);
            return translated.Where;
        }

        // A workspace's readers read its heads, a collection's readers what was published into it (member rows); a grant on
        // the artifact itself counts too; any deny in the chain hides it. The read sets are already narrowed to an API key's
        // resources, and its content-type scopes are part of the filter, so pages and facets hold only what the caller may see.
        var predicate = SearchSql.Translate(query, language.Config, parameters.Count + 1);
        parameters.AddRange(predicate.Parameters);
        var where = new List<string>
        {
            "(s.container_id = any($1) or s.id = any($1))",
            "not (s.id = any($2) or s.container_id = any($2))",
            predicate.Where,
        };
        if (containerIds.Length > 0) where.Add($"s.container_id = any({Add(containerIds)})");
        if (contentTypes.Count > 0) where.Add(Merge(first => SearchSql.AnyContentType(contentTypes, first)));
        if (states.Count > 0) where.Add($"s.state = any({Add(states.ToArray())})");
        if (caller.Scopes is { } scopes) where.Add(Merge(first => SearchSql.ScopesAllow(scopes, "search", first)));
        var filter = string.Join(" and ", where);
        var filterParameters = parameters.Count;

        var score = predicate.Match is null ? "0::real" : $"ts_rank_cd(s.search_vector, {predicate.Match})";
        var page = after is null ? "true"
            : $"(score, updated_at, id, container_id) < ({Add(after.Score)}::real, {Add(after.UpdatedAt)}, {Add(after.Id)}, {Add(after.ContainerId)})";
        var highlight = request.Highlight != false && predicate.Match is not null;
        var marks = $"'StartSel=' || chr(2) || ', StopSel=' || chr(3)";
        // A head's snippet comes from its snapshot, a member's from the revision published into the collection.
        var headlines = highlight
            ? $"""
               ts_headline('{language.Config}', translate(h.title, chr(2) || chr(3), ''), {predicate.Match}, {marks} || ', HighlightAll=true'),
               ts_headline('{language.Config}', translate(coalesce(r.data->>'Content', a.data->>'Content', ''), chr(2) || chr(3), ''), {predicate.Match},
                           {marks} || ', MaxFragments=2, MaxWords=30, MinWords=10, FragmentDelimiter=" … "')
               """
            : "null::text, null::text";
        var hitsSql = $"""
            with hits as (
              select s.id, s.container_id, s.member, s.title, s.content_type, s.state, s.revision, s.updated_at, {score} as score
              from agentartifacts.{SearchTable.Name} s
              where {filter}
            ),
            page as (
              select * from hits where {page} order by score desc, updated_at desc, id desc, container_id desc limit {take + 1}
            )
            select h.id, h.title, h.content_type, h.container_id, h.state, h.revision, h.updated_at, h.score, {headlines}
            from page h
            left join agentartifacts.mt_doc_artifact a on not h.member and a.id = h.id
            left join agentartifacts.mt_doc_artifactrevision r on h.member and r.id = h.id::text || ':' || h.revision::text
            order by h.score desc, h.updated_at desc, h.id desc, h.container_id desc
            """;
        // Every hit the caller may see, not just this page.
        var facetsSql = $"""
            select s.content_type, s.state, count(*) from agentartifacts.{SearchTable.Name} s where {filter}
            group by grouping sets ((s.content_type), (s.state))
            """;

        // Both statements in one round trip, on one connection.
        await using var batch = db.CreateBatch();
        var hitsCommand = new NpgsqlBatchCommand(hitsSql);
        hitsCommand.Parameters.AddRange(parameters.Select(Parameter).ToArray());
        var facetsCommand = new NpgsqlBatchCommand(facetsSql);
        facetsCommand.Parameters.AddRange(parameters.Take(filterParameters).Select(Parameter).ToArray());
        batch.BatchCommands.Add(hitsCommand);
        batch.BatchCommands.Add(facetsCommand);
        await using var reader = await batch.ExecuteReaderAsync(ct);

        var rows = new List<(SearchHit Hit, DateTimeOffset UpdatedAt, float Score)>();
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
            var updatedAt = reader.GetFieldValue<DateTimeOffset>(6);
            var hit = new SearchHit(reader.GetGuid(0), title, reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetGuid(3),
                Enum.Parse<ArtifactState>(reader.GetString(4), ignoreCase: true), reader.GetInt32(5), updatedAt, rawScore, snippet, highlights);
            rows.Add((hit, updatedAt, rawScore));
        }

        var byType = new Dictionary<string, long>();
        var byState = new Dictionary<string, long>();
        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (!reader.IsDBNull(0)) byType[reader.GetString(0)] = reader.GetInt64(2);
            else if (!reader.IsDBNull(1)) byState[reader.GetString(1)] = reader.GetInt64(2);
        }

        var next = rows.Count > take ? Paging.Encode(SearchCursor.After(rows[take - 1]).ToString()) : null;
        return Results.Ok(new SearchResponse(rows.Take(take).Select(r => r.Hit).ToList(), next, new SearchFacets(byType, byState)));
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

    /// <summary>
    /// The last hit of a page: its score (as the exact float bits), <c>updated_at</c>, id and container (an artifact can be
    /// a hit in its workspace and in each collection it was published into).
    /// </summary>
    private sealed record SearchCursor(float Score, DateTimeOffset UpdatedAt, Guid Id, Guid ContainerId)
    {
        public static SearchCursor After((SearchHit Hit, DateTimeOffset UpdatedAt, float Score) row) =>
            new(row.Score, row.UpdatedAt, row.Hit.Id, row.Hit.ContainerId ?? Guid.Empty);

        public override string ToString() => string.Join('|', BitConverter.SingleToInt32Bits(Score).ToString(CultureInfo.InvariantCulture),
            UpdatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture), Id.ToString("N"), ContainerId.ToString("N"));

        public static bool TryParse(string text, out SearchCursor? cursor)
        {
            cursor = null;
            var parts = text.Split('|');
            if (parts.Length != 4 || !int.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bits)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                || ticks > DateTimeOffset.MaxValue.UtcTicks || !Guid.TryParseExact(parts[2], "N", out var id)
                || !Guid.TryParseExact(parts[3], "N", out var containerId))
            {
                return false;
            }
            var score = BitConverter.Int32BitsToSingle(bits);
            if (!float.IsFinite(score)) return false;
            cursor = new SearchCursor(score, new DateTimeOffset(ticks, TimeSpan.Zero), id, containerId);
            return true;
        }
    }
}
