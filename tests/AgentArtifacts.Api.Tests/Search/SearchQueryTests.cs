using AgentArtifacts.Api.Search;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Search;

/// <summary>The query language as a pure function: what each construct parses to, and where malformed queries fail.</summary>
public sealed class SearchQueryTests
{
    private static string Parsed(string text)
    {
        var parsed = SearchQuery.Parse(text);
        parsed.Error.ShouldBeNull($"'{text}' should parse");
        return parsed.Query!.ToString();
    }

    private static SearchQueryError Failed(string text)
    {
        var parsed = SearchQuery.Parse(text);
        parsed.Query.ShouldBeNull($"'{text}' should not parse");
        return parsed.Error!;
    }

    [Theory]
    [InlineData("machine learning", "machine learning")]
    [InlineData("  spaced\t\tout  ", "spaced out")]
    [InlineData("\"machine learning\" notes", "\"machine learning\" notes")]
    [InlineData("\"  extra   spaces  \"", "\"extra spaces\"")]
    [InlineData("+required word", "required word")]
    [InlineData("recipe -pasta -\"tomato sauce\"", "recipe -pasta -\"tomato sauce\"")]
    [InlineData("e-mail pre-commit", "e-mail pre-commit")]
    [InlineData("foo\"bar baz\"", "foo \"bar baz\"")]
    public void words_phrases_required_and_excluded_terms(string text, string expected) => Parsed(text).ShouldBe(expected);

    [Theory]
    [InlineData("a OR b", "(a OR b)")]
    [InlineData("a OR b OR c", "(a OR b OR c)")]
    [InlineData("a b OR c", "a (b OR c)")]
    [InlineData("a OR b c", "(a OR b) c")]
    [InlineData("a OR b c OR d", "(a OR b) (c OR d)")]
    [InlineData("\"new york\" OR boston", "(\"new york\" OR boston)")]
    [InlineData("+a OR b", "(a OR b)")]
    [InlineData("a OR a", "a")]
    [InlineData("a or b", "a or b")]
    [InlineData("tag:OR", "tag:\"OR\"")]
    public void or_binds_tighter_than_the_implicit_and(string text, string expected) => Parsed(text).ShouldBe(expected);

    [Theory]
    [InlineData("type:text/markdown", "type:text/markdown")]
    [InlineData("type:Application/JSON", "type:application/json")]
    [InlineData("type:application/*", "type:application/*")]
    [InlineData("type:*/json", "type:*/json")]
    [InlineData("type:application/vnd.agience.*+json", "type:application/vnd.agience.*+json")]
    [InlineData("tag:ml", "tag:\"ml\"")]
    [InlineData("tag:\"machine learning\"", "tag:\"machine learning\"")]
    [InlineData("TAG:ML", "tag:\"ML\"")]
    [InlineData("state:draft", "state:draft")]
    [InlineData("state:Committed", "state:committed")]
    [InlineData("state:archived", "state:archived")]
    [InlineData("container:0b6f8f52-8a4e-4d47-9a0e-2f1b1e6c7d10", "container:0b6f8f52-8a4e-4d47-9a0e-2f1b1e6c7d10")]
    [InlineData("-tag:old notes", "-tag:\"old\" notes")]
    [InlineData("foo:bar", "foo:bar")]
    [InlineData("http://example.com", "http://example.com")]
    public void filters(string text, string expected) => Parsed(text).ShouldBe(expected);

    [Theory]
    [InlineData("created:>2026-01-01", "created:[2026-01-02T00:00:00Z,)")]
    [InlineData("created:>=2026-01-01", "created:[2026-01-01T00:00:00Z,)")]
    [InlineData("created:<2026-01-01", "created:[,2026-01-01T00:00:00Z)")]
    [InlineData("created:<=2026-01-01", "created:[,2026-01-02T00:00:00Z)")]
    [InlineData("created:2026-01-01", "created:[2026-01-01T00:00:00Z,2026-01-02T00:00:00Z)")]
    [InlineData("updated:>2026-01-01T10:00:00+02:00", "updated:[2026-01-01T08:00:00.000001Z,)")]
    [InlineData("updated:<2026-01-01T10:00Z", "updated:[,2026-01-01T10:00:00Z)")]
    [InlineData("updated:>=2026-01-01T10:00:00", "updated:[2026-01-01T10:00:00Z,)")]
    [InlineData("created:<=9999-12-31", "created:[,9999-12-31T23:59:59.9999999Z)")]
    public void dates_are_whole_utc_days_and_date_times_are_instants(string text, string expected) => Parsed(text).ShouldBe(expected);

    [Theory]
    [InlineData("", 0)]
    [InlineData("   ", 0)]
    [InlineData("\"abc", 0)]
    [InlineData("a \"b c", 2)]
    [InlineData("tag:\"machine learning", 4)]
    [InlineData("OR a", 0)]
    [InlineData("a OR", 2)]
    [InlineData("a OR OR b", 5)]
    [InlineData("a OR -b", 5)]
    [InlineData("-a OR b", 0)]
    [InlineData("a OR tag:x", 5)]
    [InlineData("tag:", 3)]
    [InlineData("x tag:\"\"", 5)]
    [InlineData("type:markdown", 5)]
    [InlineData("type:text/mark%down", 5)]
    [InlineData("state:busy", 6)]
    [InlineData("state:1", 6)]
    [InlineData("-container:xyz", 11)]
    [InlineData("created:>yesterday", 9)]
    [InlineData("created:>", 8)]
    [InlineData("updated:2026-13-01", 8)]
    [InlineData("updated:2026-01-01T10:00:00Z", 8)]
    [InlineData("-a", 0)]
    [InlineData("-a -tag:b", 0)]
    [InlineData("!!! ???", 0)]
    public void malformed_queries_fail_with_a_position(string text, int position) => Failed(text).Position.ShouldBe(position);

    [Fact]
    public void limits_on_length_terms_and_words()
    {
        Failed(new string('a', SearchQuery.MaxLength + 1)).Position.ShouldBe(SearchQuery.MaxLength);
        Parsed(string.Join(" ", Enumerable.Repeat("ab", SearchQuery.MaxTerms)));
        var tooMany = string.Join(" ", Enumerable.Repeat("ab", SearchQuery.MaxTerms + 1));
        Failed(tooMany).Position.ShouldBe(SearchQuery.MaxTerms * 3);
        Parsed("x " + new string('w', SearchQuery.MaxWordLength));
        Failed("x " + new string('w', SearchQuery.MaxWordLength + 1)).Position.ShouldBe(2);
        Failed($"x \"a {new string('w', SearchQuery.MaxWordLength + 1)}\"").Position.ShouldBe(2);
    }

    [Theory]
    [InlineData("a\u0000b", "ab")]
    [InlineData("a\u0007b\u001Bc", "abc")]
    [InlineData("\"a\tb\"", "\"a b\"")]
    [InlineData("a !!! b", "a b")]
    [InlineData("a & b | c", "a b c")]
    [InlineData("a OR !!!", "a")]
    [InlineData("🎉 party", "party")]
    [InlineData("Привет 東京 ü", "Привет 東京 ü")]
    public void terms_are_sanitized(string text, string expected) => Parsed(text).ShouldBe(expected);

    [Fact]
    public void broken_surrogates_are_dropped()  // not InlineData: xunit's serialization would replace them before the test sees them
    {
        Parsed("a \uD800b \uDC00").ShouldBe("a b");
        Parsed("\uD83C\uDF89 x\uD83C").ShouldBe("x");  // a whole emoji, then a half one
    }

    public static readonly string[] Hostile =
    [
        "'", "\\", ":*", "&", "!", "|", "(", ")", "<", ">", "<->", "a & b", "a | b", "!a", "(a", "a)", "a:*", "'a':*", "a <-> b",
        "a<2>b", "a:*B", "\\'", "'\\", "\"\\\"", "\"\"", "\" \"", "-", "+", "--", "-\"", "+\"x\"", "OR", "AND", "NOT", "a OR", "OR a",
        "a OR OR b", "\u0000", "a\u0000b", "\u0001\u0002\u0003", "\uD800", "a\uDC00b", "\uDBFF\uDFFF", "🎉", "👨‍👩‍👧 family",
        "Привет world 東京", "שלום עולם", "مرحبا", "e\u0301te\u0301", "\u200B", "\uFEFFbom", "\u202Eevil", "ｆｕｌｌｗｉｄｔｈ",
        new string('a', 5000), new string('a', 300), new string('a', 199), new string('é', 200), "tag:", "tag:\"", "tag:'",
        "tag:\\", "tag:%", "tag:_", "type:'; drop table search_test; --", "type:*", "type:*/*", "type:%/%", "type:a_b/*", "type:\\/*",
        "container:'", "container:", "created:>'", "created:>9999-12-31", "created:<=9999-12-31", "created:>0001-01-01",
        "created:<0001-01-01", "updated:>9999-12-31T23:59:59.9999999Z", "updated:<0001-01-01T00:00:00Z", "state:1", "state:'",
        "foo:bar", ":", "::", "a:", ":a", "$1", "$1 $2", "?", "%_%", "a\tb\nc\rd", "NULL", "null::text", "E'\\x00'",
        "'); select pg_sleep(10); --", "a' OR '1'='1", "\\\\\\\"", "\"a\" \"b", "x -", "x +", "x - y", "\"\" OR x", "x OR \"\"",
        "x \"!!!\"", "-\"!!!\" x", "x -!!!", string.Join(" ", Enumerable.Repeat("x", 65)), string.Join(" OR ", Enumerable.Repeat("y", 64)),
        string.Concat(Enumerable.Repeat("🎉", 400)), string.Concat(Enumerable.Repeat("a&", 400)), "tag:a\u0000b", "type:text/\u0000x",
        "created:>2026-02-30", "updated:>=2026-01-01T25:00:00Z",
    ];

    public static TheoryData<int> HostileCases => new(Enumerable.Range(0, Hostile.Length));

    [Theory]
    [MemberData(nameof(HostileCases))]
    public void hostile_input_parses_or_fails_with_a_position_inside_the_text(int index)
    {
        var text = Hostile[index];
        var parsed = SearchQuery.Parse(text);

        if (parsed.Succeeded) SearchSql.Translate(parsed.Query).Where.ShouldNotBeEmpty();
        else parsed.Error.Position.ShouldBeInRange(0, Math.Max(0, text.Length - 1));
    }
}
