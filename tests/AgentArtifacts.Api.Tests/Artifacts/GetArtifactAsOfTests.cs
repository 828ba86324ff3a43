using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

/// <summary><c>GET /artifacts/{id}?asOf=</c>: the artifact as it was at a point of the event log, folded from its stream.</summary>
public sealed class GetArtifactAsOfTests(ApiFixture fixture) : ApiTest(fixture)
{
    private async Task<(TestUser Ada, Guid Id)> RetitledArtifactAsync()
    {
        var ada = await Fixture.NewUserAsync();
        var id = (await ada.ArtifactAsync(await ada.WorkspaceAsync(), "First title", content: "one"))["id"]!.GetValue<Guid>();
        (await ada.Client.MergePatch($"/artifacts/{id}", new { title = "Second title", content = "two" })).EnsureSuccessStatusCode();
        return (ada, id);
    }

    private Task<long> SequenceOfAsync(Guid id, long version) =>
        Fixture.SqlScalarAsync<long>($"select seq_id from agentartifacts.mt_events where stream_id = '{id}' and version = {version}");

    private Task<DateTime> TimestampOfAsync(Guid id, long version) =>
        Fixture.SqlScalarAsync<DateTime>($"select timestamp from agentartifacts.mt_events where stream_id = '{id}' and version = {version}");

    [Fact]
    public async Task as_of_the_creation_sequence_is_the_artifact_as_created()
    {
        var (ada, id) = await RetitledArtifactAsync();

        var response = await ada.Client.GetAsync($"/artifacts/{id}?asOf={await SequenceOfAsync(id, 1)}");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Headers.ETag!.Tag.ShouldBe("\"1\"");
        var body = await response.Json();
        (body["title"]!.GetValue<string>(), body["content"]!.GetValue<string>(), body["version"]!.GetValue<long>()).ShouldBe(("First title", "one", 1));
        // The head moved on: two more events (title, content).
        (await (await ada.Client.GetAsync($"/artifacts/{id}")).Json())["version"]!.GetValue<long>().ShouldBe(3);
    }

    [Fact]
    public async Task as_of_a_sequence_between_two_edits_shows_the_first_edit_only()
    {
        var (ada, id) = await RetitledArtifactAsync();

        var body = await (await ada.Client.GetAsync($"/artifacts/{id}?asOf={await SequenceOfAsync(id, 2)}")).Json();

        (body["title"]!.GetValue<string>(), body["content"]!.GetValue<string>(), body["version"]!.GetValue<long>()).ShouldBe(("Second title", "one", 2));
    }

    [Fact]
    public async Task as_of_a_time_is_the_artifact_as_it_was_then()
    {
        var (ada, id) = await RetitledArtifactAsync();
        var created = new DateTimeOffset(DateTime.SpecifyKind(await TimestampOfAsync(id, 1), DateTimeKind.Utc));
        var retitled = new DateTimeOffset(DateTime.SpecifyKind(await TimestampOfAsync(id, 2), DateTimeKind.Utc));
        retitled.ShouldBeGreaterThan(created);
        var between = created + (retitled - created) / 2;

        var body = await (await ada.Client.GetAsync($"/artifacts/{id}?asOf={Uri.EscapeDataString(between.ToString("O"))}")).Json();

        body["title"]!.GetValue<string>().ShouldBe("First title");
        (await (await ada.Client.GetAsync($"/artifacts/{id}?asOf={Uri.EscapeDataString(retitled.AddMinutes(1).ToString("O"))}")).Json())
            ["version"]!.GetValue<long>().ShouldBe(3);
    }

    [Fact]
    public async Task before_the_artifact_existed_is_404_not_yet_created()
    {
        var (ada, id) = await RetitledArtifactAsync();
        var created = new DateTimeOffset(DateTime.SpecifyKind(await TimestampOfAsync(id, 1), DateTimeKind.Utc));

        var bySequence = await ada.Client.GetAsync($"/artifacts/{id}?asOf={await SequenceOfAsync(id, 1) - 1}");
        var byTime = await ada.Client.GetAsync($"/artifacts/{id}?asOf={Uri.EscapeDataString(created.AddSeconds(-1).ToString("O"))}");

        bySequence.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await bySequence.ProblemCode()).ShouldBe("not_yet_created");
        byTime.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await byTime.ProblemCode()).ShouldBe("not_yet_created");
    }

    [Fact]
    public async Task someone_who_may_not_read_it_today_gets_404_not_found_whatever_the_point()
    {
        var (_, id) = await RetitledArtifactAsync();
        var bob = await Fixture.NewUserAsync();

        var response = await bob.Client.GetAsync($"/artifacts/{id}?asOf={await SequenceOfAsync(id, 1)}");

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await response.ProblemCode()).ShouldBe("not_found");
    }

    [Fact]
    public async Task a_reader_granted_today_reads_the_past_too()
    {
        var (ada, id) = await RetitledArtifactAsync();
        var bob = await Fixture.NewUserAsync();
        (await ada.GrantAsync(id, bob.Id, "viewer")).EnsureSuccessStatusCode();

        var body = await (await bob.Client.GetAsync($"/artifacts/{id}?asOf={await SequenceOfAsync(id, 1)}")).Json();

        body["title"]!.GetValue<string>().ShouldBe("First title");
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("2026-12-03")]
    [InlineData("2026-12-03T10:00:00")]
    [InlineData("99999999999999999999999")]
    public async Task a_malformed_as_of_is_400_invalid_as_of(string asOf)
    {
        var (ada, id) = await RetitledArtifactAsync();

        var response = await ada.Client.GetAsync($"/artifacts/{id}?asOf={Uri.EscapeDataString(asOf)}");

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("invalid_as_of");
    }

    [Fact]
    public async Task as_of_with_a_revision_is_400_conflicting_parameters()
    {
        var (ada, id) = await RetitledArtifactAsync();

        var response = await ada.Client.GetAsync($"/artifacts/{id}?revision=1&asOf=1");

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("conflicting_parameters");
    }
}
