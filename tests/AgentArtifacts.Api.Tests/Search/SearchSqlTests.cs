using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Search;
using AgentArtifacts.Api.Tests.Infrastructure;
using Npgsql;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Search;

/// <summary>A designed corpus in a table shaped like the search table, holding the vector <see cref="SearchSql.Vector"/> builds.</summary>
public sealed class SearchCorpus : IAsyncLifetime
{
    public static readonly Guid ContainerA = Guid.Parse("aaaaaaaa-0000-0000-0000-000000000001");
    public static readonly Guid ContainerB = Guid.Parse("bbbbbbbb-0000-0000-0000-000000000002");

    private sealed record Row(int Id, string Title, string? Description, string[] Tags, string? Content, string Context, string ContentType,
        string State, Guid? ContainerId, string Created, string? Updated = null);

    private static readonly Row[] Rows =
    [
        new(1, "Nightly build", null, ["ci", "build"], "We run the pipeline every night", "{}", "text/markdown", "committed", ContainerA, "2026-01-05", "2026-02-01"),
        new(2, "Weather tool", "Calls the weather API", ["tools"], null, """{"endpoint": {"url": "https://weather.example"}, "summary": "forecast lookups"}""",
            "application/vnd.agience.http-tool+json", "draft", ContainerA, "2025-12-20", "2026-01-10"),
        new(3, "Machine learning notes", null, ["machine learning", "notes"], "Gradient descent and back propagation", "{}", "text/markdown", "committed",
            ContainerB, "2026-02-10"),
        new(4, "Deep thoughts", null, [], "The machine is learning slowly", "{}", "text/markdown", "draft", ContainerB, "2026-02-11"),
        new(5, "Sales report", null, ["finance"], "Quarterly sales figures", "{}", "application/json", "archived", ContainerB, "2025-11-01", "2026-01-15"),
        new(6, "Was ist das?", null, [], "Ein kurzer Text über Häuser", "{}", "text/plain", "draft", ContainerA, "2026-01-20"),
        new(7, "東京 tower", null, ["travel"], "Привет мир 🎉", "{}", "text/plain", "committed", null, "2026-01-21"),
        new(8, "Pasta recipe", null, ["cooking"], "Boil water, add pasta", "{}", "text/markdown", "committed", ContainerB, "2026-03-01"),
        new(9, "Pizza recipe", null, ["cooking"], "Bake the dough; notes from grandma", "{}", "text/markdown", "committed", ContainerB, "2026-03-02"),
        new(10, "O'Reilly & Sons: a C++ guide", null, ["books"], "pointers & references", "{}", "text/x_y", "committed", ContainerA, "2026-01-01"),
        new(11, "Config file", null, [], "settings for the service", """{"format": "yaml"}""", "application/json", "committed", ContainerA, "2026-01-02"),
        new(12, "Another file", null, [], "nothing special", "{}", "text/xay", "committed", ContainerA, "2026-01-03"),
    ];

    private TestDatabase _database = null!;
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.StartAsync();
        DataSource = NpgsqlDataSource.Create(_database.ConnectionString);
        await using (var create = DataSource.CreateCommand("""
            create table search_test (id int primary key, title text not null, description text, tags text[] not null, content text,
              context jsonb not null, content_type text not null, state text not null, container_id uuid, created_at timestamptz not null,
              updated_at timestamptz not null, search_vector tsvector)
            """))
            await create.ExecuteNonQueryAsync();

        foreach (var row in Rows)
        {
            await using var insert = DataSource.CreateCommand("insert into search_test values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11)");
            foreach (var value in new object?[] { row.Id, row.Title, row.Description, row.Tags, row.Content, row.Context, row.ContentType, row.State,
                         row.ContainerId, At(row.Created), At(row.Updated ?? row.Created) })
                insert.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
            await insert.ExecuteNonQueryAsync();
        }

        var vector = SearchSql.Vector("title", "array_to_string(tags, ' ') || ' ' || coalesce(description, '')", "coalesce(content, '') || ' ' || context::text");
        await using var update = DataSource.CreateCommand($"update search_test set search_vector = {vector}; " +
            "create index on search_test using gin (search_vector); create index on search_test using gin (tags)");
        await update.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        await DataSource.DisposeAsync();
        await _database.DisposeAsync();
    }

    private static DateTimeOffset At(string date) => DateTimeOffset.Parse(date + "T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The ids the query finds, best first (rank, then id), with each hit's content headline.</summary>
    public async Task<List<(int Id, string? Headline)>> SearchAsync(string text, string where = "true", params object[] callerParameters)
    {
        var parsed = SearchQuery.Parse(text);
        parsed.Error.ShouldBeNull($"'{text}' should parse");
        var predicate = SearchSql.Translate(parsed.Query!, firstParameter: callerParameters.Length + 1);
        var headline = predicate.Match is null ? "null" : $"ts_headline('english', coalesce(content, ''), {predicate.Match})";
        var order = predicate.Match is null ? "id" : $"ts_rank_cd(search_vector, {predicate.Match}) desc, id";
        await using var command = DataSource.CreateCommand(
            $"select id, {headline} from search_test where {where} and {predicate.Where} order by {order}");
        foreach (var value in callerParameters.Concat(predicate.Parameters)) command.Parameters.Add(new NpgsqlParameter { Value = value });

        var hits = new List<(int, string?)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) hits.Add((reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
        return hits;
    }

    /// <summary>The ids of the rows a predicate numbered from <c>$1</c> holds for, in order.</summary>
    public async Task<int[]> WhereAsync(SearchPredicate predicate)
    {
        await using var command = DataSource.CreateCommand($"select id from search_test where {predicate.Where} order by id");
        foreach (var value in predicate.Parameters) command.Parameters.Add(new NpgsqlParameter { Value = value });
        var ids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) ids.Add(reader.GetInt32(0));
        return ids.ToArray();
    }
}

/// <summary>The translated SQL, run against PostgreSQL: each construct finds what it should, and hostile input stays valid SQL.</summary>
public sealed class SearchSqlTests(SearchCorpus corpus) : IClassFixture<SearchCorpus>
{
    private async Task<int[]> Ids(string query) => (await corpus.SearchAsync(query)).Select(h => h.Id).Order().ToArray();

    [Theory]
    [InlineData("recipe", new[] { 8, 9 })]
    [InlineData("pasta recipe", new[] { 8 })]
    [InlineData("+pasta +recipe", new[] { 8 })]
    [InlineData("forecast", new[] { 2 })]
    [InlineData("O'Reilly", new[] { 10 })]
    [InlineData("C++ guide", new[] { 10 })]
    [InlineData("machine learning", new[] { 3, 4 })]
    [InlineData("\"machine learning\"", new[] { 3 })]
    [InlineData("\"learning machine\"", new int[0])]
    [InlineData("\"recipe pasta\"", new int[0])]
    public async Task words_must_all_match_and_phrases_match_in_order(string query, int[] expected) => (await Ids(query)).ShouldBe(expected);

    [Theory]
    [InlineData("recipe -pasta", new[] { 9 })]
    [InlineData("recipe -\"pasta recipe\"", new[] { 9 })]
    [InlineData("recipe -\"boil pasta\"", new[] { 8, 9 })]
    [InlineData("pasta OR pizza", new[] { 8, 9 })]
    [InlineData("sales OR weather", new[] { 2, 5 })]
    [InlineData("recipe pasta OR nightly", new[] { 8 })]
    [InlineData("nightly OR \"pizza recipe\"", new[] { 1, 9 })]
    public async Task exclusion_and_or(string query, int[] expected) => (await Ids(query)).ShouldBe(expected);

    [Theory]
    [InlineData("type:text/markdown", new[] { 1, 3, 4, 8, 9 })]
    [InlineData("type:TEXT/PLAIN", new[] { 6, 7 })]
    [InlineData("type:application/*", new[] { 2, 5, 11 })]
    [InlineData("type:*/json", new[] { 5, 11 })]
    [InlineData("type:application/vnd.agience.*+json", new[] { 2 })]
    [InlineData("type:text/x_*", new[] { 10 })]
    [InlineData("type:text/x_y", new[] { 10 })]
    [InlineData("tag:cooking", new[] { 8, 9 })]
    [InlineData("tag:\"machine learning\"", new[] { 3 })]
    [InlineData("tag:machine", new int[0])]
    [InlineData("recipe -tag:cooking", new int[0])]
    [InlineData("state:draft", new[] { 2, 4, 6 })]
    [InlineData("state:archived", new[] { 5 })]
    [InlineData("report -state:committed", new[] { 5 })]
    [InlineData("container:aaaaaaaa-0000-0000-0000-000000000001", new[] { 1, 2, 6, 10, 11, 12 })]
    [InlineData("tower -container:bbbbbbbb-0000-0000-0000-000000000002", new[] { 7 })]
    [InlineData("created:>=2026-03-01", new[] { 8, 9 })]
    [InlineData("created:<2026-01-01", new[] { 2, 5 })]
    [InlineData("created:2026-01-20", new[] { 6 })]
    [InlineData("created:>2026-03-01", new[] { 9 })]
    [InlineData("created:<=2026-01-02 -file", new[] { 2, 5, 10 })]
    [InlineData("updated:>2026-02-01", new[] { 3, 4, 8, 9 })]
    [InlineData("updated:>=2026-01-31T23:00:00Z updated:<2026-02-10", new[] { 1 })]
    [InlineData("recipe tag:cooking type:text/* state:committed created:>2026-01-01", new[] { 8, 9 })]
    public async Task each_filter(string query, int[] expected) => (await Ids(query)).ShouldBe(expected);

    [Theory]
    [InlineData("running", new[] { 1 })]
    [InlineData("pipelines", new[] { 1 })]
    [InlineData("was", new[] { 6 })]
    [InlineData("\"was ist das\"", new[] { 6 })]
    [InlineData("häuser", new[] { 6 })]
    [InlineData("Häuser über", new[] { 6 })]
    [InlineData("Привет", new[] { 7 })]
    [InlineData("東京", new[] { 7 })]
    [InlineData("the", new[] { 1, 2, 4, 9, 11 })]
    public async Task stemmed_in_english_with_a_simple_fallback_for_stop_words_and_other_scripts(string query, int[] expected) =>
        (await Ids(query)).ShouldBe(expected);

    [Fact]
    public async Task title_matches_rank_above_content_matches_and_headlines_mark_the_match()
    {
        (await corpus.SearchAsync("notes")).Select(h => h.Id).ShouldBe([3, 9]);

        var hit = (await corpus.SearchAsync("running")).ShouldHaveSingleItem();
        hit.Headline.ShouldBe("We <b>run</b> the pipeline every night");
    }

    [Fact]
    public async Task the_callers_parameters_can_come_first()
    {
        var hits = await corpus.SearchAsync("recipe OR file", "id > $1 and id < $2", 8, 12);

        hits.Select(h => h.Id).Order().ShouldBe([9, 11]);
    }

    [Theory]
    [InlineData("recipe OR nightly -\"boil pasta\"", "search_test_search_vector_idx")]
    [InlineData("tag:cooking", "search_test_tags_idx")]
    public async Task words_phrases_exclusions_and_tags_are_answered_from_gin_indexes(string query, string index)
    {
        var predicate = SearchSql.Translate(SearchQuery.Parse(query).Query!);
        await using var connection = await corpus.DataSource.OpenConnectionAsync();
        await using (var noScans = new NpgsqlCommand("set enable_seqscan = off", connection)) await noScans.ExecuteNonQueryAsync();
        await using var explain = new NpgsqlCommand($"explain select id from search_test where {predicate.Where}", connection);
        foreach (var value in predicate.Parameters) explain.Parameters.Add(new NpgsqlParameter { Value = value });

        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
            while (await reader.ReadAsync()) plan.Add(reader.GetString(0));

        string.Join("\n", plan).ShouldContain($"Bitmap Index Scan on {index}");
    }

    /// <summary>
    /// Npgsql auto-prepares the endpoint's statements, and after a few runs PostgreSQL may plan them generically, without
    /// the parameters' values: the tsquery must then still be computed once per statement, not once per ranked row.
    /// </summary>
    [Fact]
    public async Task a_generic_plan_computes_the_tsquery_once_not_for_every_ranked_row()
    {
        var predicate = SearchSql.Translate(SearchQuery.Parse("recipe OR pizza -pasta").Query!);
        var types = string.Join(", ", predicate.Parameters.Select(_ => "text"));
        await using var connection = await corpus.DataSource.OpenConnectionAsync();
        var sql = $"""
            prepare ranked({types}) as select id, ts_rank_cd(search_vector, {predicate.Match}) from search_test where {predicate.Where};
            set plan_cache_mode = force_generic_plan;
            """;
        await using (var prepare = new NpgsqlCommand(sql, connection)) await prepare.ExecuteNonQueryAsync();
        var values = string.Join(", ", predicate.Parameters.Select(p => $"'{p}'"));
        await using var explain = new NpgsqlCommand($"explain (verbose, costs off) execute ranked({values})", connection);

        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
            while (await reader.ReadAsync()) plan.Add(reader.GetString(0));

        plan.ShouldContain(line => line.Contains("InitPlan"));
        plan.Where(line => line.Contains("ts_rank_cd")).ShouldNotBeEmpty();
        plan.Where(line => line.Contains("ts_rank_cd")).ShouldAllBe(line => !line.Contains("plainto_tsquery"));
        (await corpus.SearchAsync("recipe OR pizza -pasta")).Select(h => h.Id).ShouldBe([9]);
    }

    [Fact]
    public void user_text_only_ever_travels_as_parameters()
    {
        var predicate = SearchSql.Translate(SearchQuery.Parse("it's -\"a & b\" x OR y type:text/* tag:'; drop").Query!);

        predicate.Where.ShouldNotContain("it's");
        predicate.Where.ShouldNotContain("drop");
        predicate.Parameters.ShouldContain("it's");
        predicate.Parameters.ShouldContain("text/%");
        predicate.Match.ShouldNotBeNull().ShouldNotContain("!!");
    }

    [Fact]
    public void only_a_plain_configuration_name_is_accepted()
    {
        var query = SearchQuery.Parse("x").Query!;
        SearchSql.Translate(query, "simple").Where.ShouldContain("plainto_tsquery('simple', $1)");
        Should.Throw<ArgumentException>(() => SearchSql.Translate(query, "english'); drop table x; --"));
    }

    [Theory]
    [InlineData(new[] { "text/*" }, new[] { 1, 3, 4, 6, 7, 8, 9, 10, 12 })]
    [InlineData(new[] { "application/json", "text/x_y" }, new[] { 5, 10, 11 })]
    [InlineData(new[] { "*/json", "application/vnd.*+json" }, new[] { 2, 5, 11 })]
    [InlineData(new[] { "image/png" }, new int[0])]
    public async Task a_list_of_content_types_matches_any_of_them_wildcards_included(string[] types, int[] expected) =>
        (await corpus.WhereAsync(SearchSql.AnyContentType(types.Select(t => TypeFilter.TryCreate(t)!).ToList(), 1))).ShouldBe(expected);

    public static TheoryData<string> Scopes => new()
    {
        "resource:*/*:search", "resource:text/*:search", "tool:*/*:search", "prompt:*/*:search", "prompt:text/*:search",
        "resource:application/json:search", "resource:text/x_y:search", "tool:application/vnd.agience.agent+json:search", "resource:*/*:read",
    };

    /// <summary>The SQL form of a key's scopes decides exactly as <see cref="ApiKeyScopes.Allows(IEnumerable{ApiKeyScope}, string, string)"/>.</summary>
    [Theory]
    [MemberData(nameof(Scopes))]
    public async Task scopes_in_sql_allow_exactly_what_the_scope_rules_allow(string scope)
    {
        string[] types =
        [
            "text/markdown", "text/plain; charset=utf-8", "application/json", "text/x_y", "text/xay", "application/vnd.agience.http-tool+json",
            "application/vnd.agience.agent+json", "application/vnd.agience.mcp-server+json", "application/vnd.agience.tool+json",
            "text/x-prompt", "application/vnd.acme.prompt+json", "text/prompt", "application/prompt-library", "application/vnd.agience.workspace+json",
        ];
        var scopes = ApiKeyScopes.ParseStored([scope]);
        var predicate = SearchSql.ScopesAllow(scopes, "search", 2);
        await using var command = corpus.DataSource.CreateCommand($"select content_type, {predicate.Where} from unnest($1::text[]) as t(content_type)");
        command.Parameters.Add(new NpgsqlParameter { Value = types });
        foreach (var value in predicate.Parameters) command.Parameters.Add(new NpgsqlParameter { Value = value });

        var decided = new Dictionary<string, bool>();
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) decided[reader.GetString(0)] = reader.GetBoolean(1);

        decided.ShouldBe(types.ToDictionary(t => t, t => ApiKeyScopes.Allows(scopes, t, "search")));
        decided.Values.Any(allowed => allowed).ShouldBe(scope.EndsWith(":search", StringComparison.Ordinal));  // the corpus exercises the scope
    }

    [Fact]
    public void most_hostile_inputs_parse_so_their_sql_is_run() =>
        SearchQueryTests.Hostile.Count(h => SearchQuery.Parse(h).Succeeded).ShouldBeGreaterThan(SearchQueryTests.Hostile.Length / 2);

    [Theory]
    [MemberData(nameof(SearchQueryTests.HostileCases), MemberType = typeof(SearchQueryTests))]
    public async Task hostile_input_never_produces_invalid_sql(int index)
    {
        var parsed = SearchQuery.Parse(SearchQueryTests.Hostile[index]);
        if (!parsed.Succeeded) return;

        await corpus.SearchAsync(SearchQueryTests.Hostile[index]);
    }
}
