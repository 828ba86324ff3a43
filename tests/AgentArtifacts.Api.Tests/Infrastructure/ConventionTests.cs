using System.Text.Json.Nodes;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Infrastructure;
using Microsoft.AspNetCore.Http;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>Pure tests of the shared conventions: cursors, ETags, merge-patch.</summary>
public sealed class ConventionTests
{
    [Fact]
    public void a_cursor_round_trips_and_foreign_cursors_are_refused()
    {
        var rows = Enumerable.Range(1, 5).Select(i => (long)i).ToList();
        var page = Paging.ToPage(rows, 3, r => r.ToString(), r => r);

        page.Items.ShouldBe([1L, 2L, 3L]);
        Paging.TryRead<long>(null, page.NextCursor, long.TryParse, out var take, out var after).ShouldBeNull();
        take.ShouldBe(Paging.DefaultLimit);
        after.ShouldBe(3);

        Paging.TryRead<long>(null, "bm90LW91cnM", long.TryParse, out _, out _).ShouldNotBeNull();
        Paging.TryRead<long>(null, Paging.Encode("abc"), long.TryParse, out _, out _).ShouldNotBeNull();
        Paging.TryRead<long>(201, null, long.TryParse, out _, out _).ShouldNotBeNull();
    }

    [Fact]
    public void the_last_page_has_no_cursor()
    {
        Paging.ToPage(new List<long> { 1, 2 }, 2, r => r.ToString(), r => r).NextCursor.ShouldBeNull();
    }

    [Theory]
    [InlineData("\"7\"", 7L, true)]
    [InlineData("W/\"7\"", 7L, true)]
    [InlineData("*", null, true)]
    [InlineData("", null, true)]
    [InlineData("7", null, false)]
    [InlineData("\"x\"", null, false)]
    public void if_match_is_read_as_a_version(string header, long? version, bool valid)
    {
        var context = new DefaultHttpContext();
        if (header.Length > 0) context.Request.Headers.IfMatch = header;

        ETags.TryReadIfMatch(context.Request, out var parsed).ShouldBe(valid);
        parsed.ShouldBe(version);
    }

    [Fact]
    public void if_none_match_accepts_lists_and_wildcards()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.IfNoneMatch = "\"3\", W/\"5\"";
        ETags.IfNoneMatchHits(context.Request, 5).ShouldBeTrue();
        ETags.IfNoneMatchHits(context.Request, 4).ShouldBeFalse();
        context.Request.Headers.IfNoneMatch = "*";
        ETags.IfNoneMatchHits(context.Request, 1).ShouldBeTrue();
    }

    [Fact]
    public void merge_patch_follows_rfc_7396()
    {
        var target = JsonNode.Parse("""{"a":"b","c":{"d":"e","f":"g"}}""");
        var patch = JsonNode.Parse("""{"a":"z","c":{"f":null}}""");

        JsonNode.DeepEquals(MergePatch.Apply(target, patch), JsonNode.Parse("""{"a":"z","c":{"d":"e"}}""")).ShouldBeTrue();
        JsonNode.DeepEquals(MergePatch.Apply(target, JsonNode.Parse("[1]")), JsonNode.Parse("[1]")).ShouldBeTrue();
    }
}
