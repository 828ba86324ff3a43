using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

public sealed class IdempotencyTests(ApiFixture fixture) : ApiTest(fixture)
{
    private static Action<HttpRequestMessage> Key(string key) => r => r.Headers.TryAddWithoutValidation("Idempotency-Key", key);

    [Fact]
    public async Task a_retry_with_the_same_key_and_body_replays_the_first_response_and_creates_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var body = new { containerId = workspace, contentType = "text/plain", title = "Once" };

        var first = await ada.Client.PostJson("/artifacts", body, Key("create-once"));
        var countAfterFirst = await Fixture.EventCountAsync();
        var retry = await ada.Client.PostJson("/artifacts", body, Key("create-once"));

        first.StatusCode.ShouldBe(HttpStatusCode.Created);
        first.Headers.Contains("Idempotent-Replayed").ShouldBeFalse();
        retry.StatusCode.ShouldBe(HttpStatusCode.Created);
        retry.Headers.GetValues("Idempotent-Replayed").Single().ShouldBe("true");
        retry.Headers.Location.ShouldBe(first.Headers.Location);
        retry.Headers.ETag.ShouldBe(first.Headers.ETag);
        (await retry.Content.ReadAsStringAsync()).ShouldBe(await first.Content.ReadAsStringAsync());
        (await Fixture.EventCountAsync()).ShouldBe(countAfterFirst);
    }

    [Fact]
    public async Task the_same_key_with_another_body_is_422_and_creates_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        await ada.Client.PostJson("/artifacts", new { containerId = workspace, contentType = "text/plain", title = "One" }, Key("k1"));
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson("/artifacts", new { containerId = workspace, contentType = "text/plain", title = "Two" }, Key("k1"));

        response.StatusCode.ShouldBe((HttpStatusCode)422);
        (await response.ProblemCode()).ShouldBe("idempotency_key_reused");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task keys_are_scoped_to_the_principal_and_path()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();

        var adas = await ada.Client.PostJson("/workspaces", new { title = "Same" }, Key("shared-key"));
        var bobs = await bob.Client.PostJson("/workspaces", new { title = "Same" }, Key("shared-key"));
        var adasCollection = await ada.Client.PostJson("/collections", new { title = "Same" }, Key("shared-key"));

        bobs.Headers.Contains("Idempotent-Replayed").ShouldBeFalse();
        adasCollection.Headers.Contains("Idempotent-Replayed").ShouldBeFalse();
        (await bobs.Json())["id"]!.GetValue<Guid>().ShouldNotBe((await adas.Json())["id"]!.GetValue<Guid>());
        (await adasCollection.Json())["kind"]!.GetValue<string>().ShouldBe("collection");
    }

    [Fact]
    public async Task concurrent_requests_with_one_key_create_once_and_the_others_get_409_or_the_replay()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var body = new { containerId = workspace, contentType = "text/plain", title = "Race" };
        var before = await Fixture.EventCountAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => ada.Client.PostJson("/artifacts", body, Key("race"))));

        responses.ShouldAllBe(r => r.StatusCode == HttpStatusCode.Created || r.StatusCode == HttpStatusCode.Conflict);
        responses.Where(r => r.StatusCode == HttpStatusCode.Conflict).ShouldAllBe(r => r.Headers.RetryAfter != null);
        (await Fixture.EventCountAsync()).ShouldBe(before + 1);
    }

    [Fact]
    public async Task a_rejected_first_attempt_is_replayed_too()
    {
        var ada = await Fixture.NewUserAsync();
        var body = new { containerId = Guid.CreateVersion7(), contentType = "text/plain", title = "Nowhere" };

        var first = await ada.Client.PostJson("/artifacts", body, Key("k404"));
        var retry = await ada.Client.PostJson("/artifacts", body, Key("k404"));

        first.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        retry.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        retry.Headers.GetValues("Idempotent-Replayed").Single().ShouldBe("true");
    }

    [Fact]
    public async Task an_overlong_key_is_400()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await ada.Client.PostJson("/workspaces", new { title = "x" }, Key(new string('k', 256)));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("invalid_idempotency_key");
    }
}
