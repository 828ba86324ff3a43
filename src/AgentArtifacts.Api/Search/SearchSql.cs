using System.Text;
using System.Text.RegularExpressions;
using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Search;

/// <summary>
/// A parsed query as SQL over the search table (<c>search_vector tsvector, content_type text, tags text[], state text,
/// container_id uuid, created_at timestamptz, updated_at timestamptz</c>). User text only ever travels as parameters
/// <c>$n</c>, parsed by <c>plainto_tsquery</c>/<c>phraseto_tsquery</c>, never as tsquery syntax or SQL.
/// </summary>
/// <param name="Where">The predicate: every term of the query, ANDed.</param>
/// <param name="Match">The tsquery of the words and phrases that must match (exclusions left out), for <c>ts_rank_cd</c> and
/// <c>ts_headline</c>; null when the query has only filters and exclusions.</param>
/// <param name="Parameters">The values of <c>$first</c>, <c>$first+1</c>, …: strings, string arrays, Guids and UTC DateTimeOffsets.</param>
public sealed record SearchPredicate(string Where, string? Match, IReadOnlyList<object> Parameters);

/// <summary>
/// The text-search configuration words are stemmed in, <c>Search:Language</c> (default <c>english</c>): the name of a
/// PostgreSQL configuration (<c>select cfgname from pg_ts_config</c>: german, french, spanish, …). The index and the queries
/// must use the same one, so changing it means rebuilding the search projection.
/// </summary>
public sealed record SearchLanguage(string Config)
{
    public static SearchLanguage From(IConfiguration configuration)
    {
        var config = configuration["Search:Language"] ?? SearchSql.DefaultConfig;
        return SearchSql.IsConfigName(config) ? new SearchLanguage(config)
            : throw new InvalidOperationException($"Search:Language '{config}' is not a text search configuration name (such as english or german).");
    }
}

public static partial class SearchSql
{
    public const string DefaultConfig = "english";

    /// <summary>
    /// Each word matches in the configured language (stemmed) or in <c>simple</c> (as written), so stop words and words of
    /// other languages are still found; <see cref="Vector"/> indexes both forms. Parameters are numbered from
    /// <paramref name="firstParameter"/>, so the caller can put its own before or after them.
    /// </summary>
    public static SearchPredicate Translate(SearchQuery query, string config = DefaultConfig, int firstParameter = 1)
    {
        var sql = new Builder(CheckConfig(config), firstParameter);
        var positive = query.Terms.Where(t => t is WordTerm or PhraseTerm or AnyOfTerm).Select(sql.TsQuery).ToList();
        var negative = query.Terms.OfType<NotTerm>().Where(t => t.Term is WordTerm or PhraseTerm).Select(t => "!!" + sql.TsQuery(t.Term)).ToList();
        // Each tsquery is a scalar subquery: PostgreSQL computes it once per statement (an InitPlan) even in a generic plan, which
        // an auto-prepared statement gets after a few runs. Written inline, a generic plan would parse the query text again
        // for every row ts_rank_cd ranks (measured: 57 ms against 20 ms for an OR over 3 700 hits).
        var match = positive.Count == 0 ? null : $"(select {string.Join(" && ", positive)})";

        var predicates = new List<string>();
        if (positive.Count + negative.Count > 0) predicates.Add($"search_vector @@ (select {string.Join(" && ", positive.Concat(negative))})");
        predicates.AddRange(query.Terms.Where(IsFilter).Select(sql.Filter));
        predicates.AddRange(query.Terms.OfType<NotTerm>().Where(t => IsFilter(t.Term)).Select(t => $"NOT coalesce({sql.Filter(t.Term)}, false)"));

        return new SearchPredicate(predicates.Count == 0 ? "true" : string.Join(" AND ", predicates), match, sql.Parameters);
    }

    /// <summary>
    /// The weighted vector the search table keeps (title A, tags and description B, content and context C), in the configured
    /// language and in <c>simple</c>. The arguments are SQL text expressions (columns or parameters), not user text.
    /// </summary>
    public static string Vector(string titleSql, string tagsAndDescriptionSql, string contentAndContextSql, string config = DefaultConfig)
    {
        config = CheckConfig(config);
        return string.Join($" || {Gap} || ", new[] { (Sql: titleSql, Weight: 'A'), (Sql: tagsAndDescriptionSql, Weight: 'B'), (Sql: contentAndContextSql, Weight: 'C') }
            .SelectMany(part => new[] { config, "simple" }.Select(c => $"setweight(to_tsvector('{c}', coalesce({part.Sql}, '')), '{part.Weight}')")));
    }

    // Concatenated vectors continue each other's positions, so "Pasta recipe" (english) followed by "Pasta recipe" (simple)
    // would hold the phrase "recipe pasta". A lexeme no query can produce, 64 positions on, keeps phrases inside one part.
    private const string Gap = "'|:64'::tsvector";

    /// <summary>Any of these content types or wildcards (as <c>type:</c> takes them): the request's <c>contentTypes</c> list.</summary>
    public static SearchPredicate AnyContentType(IReadOnlyList<TypeFilter> types, int firstParameter)
    {
        var sql = new Builder(DefaultConfig, firstParameter);
        return new SearchPredicate($"({string.Join(" OR ", types.Select(sql.Filter))})", null, sql.Parameters);
    }

    /// <summary>
    /// What a narrowed caller's scopes let it find: <see cref="ApiKeyScopes.Allows(IEnumerable{ApiKeyScope}, string, string)"/>
    /// for <paramref name="action"/> in SQL over <c>content_type</c> (the scope kind derived from the type as
    /// <see cref="ApiKeyScopes.KindOf"/> does), so a key's pages and facets hold only what it may see.
    /// </summary>
    public static SearchPredicate ScopesAllow(IEnumerable<ApiKeyScope> scopes, string action, int firstParameter)
    {
        var sql = new Builder(DefaultConfig, firstParameter);
        const string essence = "btrim(split_part(content_type, ';', 1))";
        var kind = $"""
            (case when {essence} = any({sql.Add(ApiKeyScopes.ToolTypes.Select(t => t.ToLowerInvariant()).ToArray())}) then '{ApiKeyScopes.Tool}'
                  when split_part(split_part({essence}, '/', 2), '+', 1) ~ '^(.*[.-])?prompt$' then '{ApiKeyScopes.Prompt}'
                  else '{ApiKeyScopes.Resource}' end)
            """;
        var allowed = scopes.Where(s => s.Action == action)
            .Select(s => $"({kind} = {sql.Add(s.Kind)} AND {essence} LIKE {sql.Add(Builder.LikePattern(s.MediaRange))})").ToList();
        return new SearchPredicate(allowed.Count == 0 ? "false" : $"({string.Join(" OR ", allowed)})", null, sql.Parameters);
    }

    /// <summary>How the search table stores a state, as <c>state:</c> compares it.</summary>
    public static string StateValue(ArtifactState state) => state.ToString().ToLowerInvariant();

    private static bool IsFilter(SearchTerm term) => term is TypeFilter or TagFilter or StateFilter or ContainerFilter or DateFilter;

    // The config becomes part of the SQL text, so it must be a plain identifier; it comes from settings, never from a query.
    public static bool IsConfigName(string config) => ConfigName().IsMatch(config);

    private static string CheckConfig(string config) =>
        IsConfigName(config) ? config : throw new ArgumentException($"'{config}' is not a text search configuration name.", nameof(config));

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex ConfigName();

    private sealed class Builder(string config, int firstParameter)
    {
        public List<object> Parameters { get; } = [];

        public string Add(object value)
        {
            Parameters.Add(value);
            return $"${firstParameter + Parameters.Count - 1}";
        }

        public string TsQuery(SearchTerm term) => term switch
        {
            WordTerm w => InBothConfigs("plainto_tsquery", Add(w.Word)),
            PhraseTerm p => InBothConfigs("phraseto_tsquery", Add(p.Phrase)),
            AnyOfTerm any => $"({string.Join(" || ", any.Alternatives.Select(TsQuery))})",
            _ => throw new ArgumentOutOfRangeException(nameof(term), term, "Not a word, a phrase or an OR of them."),
        };

        private string InBothConfigs(string function, string parameter) =>
            $"({function}('{config}', {parameter}) || {function}('simple', {parameter}))";

        public string Filter(SearchTerm term) => term switch
        {
            TypeFilter { HasWildcard: false } t => $"content_type = {Add(t.Pattern)}",
            TypeFilter t => $"content_type LIKE {Add(LikePattern(t.Pattern))}",
            TagFilter t => $"tags @> {Add(new[] { t.Tag })}",
            StateFilter s => $"state = {Add(StateValue(s.State))}",
            ContainerFilter c => $"container_id = {Add(c.ContainerId)}",
            DateFilter d => DateRange(d),
            _ => throw new ArgumentOutOfRangeException(nameof(term), term, "Not a filter."),
        };

        private string DateRange(DateFilter filter)
        {
            var column = filter.Field == DateField.Created ? "created_at" : "updated_at";
            var bounds = new List<string>();
            if (filter.From is { } from) bounds.Add($"{column} >= {Add(from)}");
            if (filter.Until is { } until) bounds.Add($"{column} < {Add(until)}");
            return bounds.Count == 0 ? "true" : $"({string.Join(" AND ", bounds)})";
        }

        // LIKE's escape character is the backslash: escape it, % and _, then the query's * becomes %.
        public static string LikePattern(string pattern)
        {
            var like = new StringBuilder();
            foreach (var c in pattern) like.Append(c switch { '\\' or '%' or '_' => $"\\{c}", '*' => "%", _ => c.ToString() });
            return like.ToString();
        }
    }
}
