using System.Text.Json.Nodes;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;
using JasperFx.Events;
using Microsoft.AspNetCore.Http;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

/// <summary>Decision tests: fold events into the write model, call the pure decision, compare the events. No database.</summary>
public sealed class ArtifactDecisionTests
{
    private static readonly TypeRegistry Types = TypeRegistry.LoadFrom(Path.Combine(AppContext.BaseDirectory, "types"));
    private static readonly Guid Id = Guid.CreateVersion7();
    private static readonly Guid Workspace = Guid.CreateVersion7();
    private static readonly Guid Author = Guid.CreateVersion7();

    private static Artifact Given(params object[] events)
    {
        var version = 0;
        Artifact? artifact = null;
        foreach (var data in events)
        {
            var e = Wrap(data, ++version);
            if (data is ArtifactCreated) artifact = Artifact.Create((IEvent<ArtifactCreated>)e);
            else ((dynamic)artifact!).Apply((dynamic)e);
        }
        artifact!.Version = version;
        return artifact;
    }

    private static IEvent Wrap(object data, int version)
    {
        var e = (IEvent)Activator.CreateInstance(typeof(Event<>).MakeGenericType(data.GetType()), data)!;
        e.Version = version;
        e.Timestamp = DateTimeOffset.UtcNow;
        e.UserName = Author.ToString();
        return e;
    }

    private static ArtifactCreated Created(string contentType = "text/markdown", JsonObject? context = null) =>
        new(Id, Workspace, contentType, "Notes", null, ["a"], context ?? [], "body");

    private static (IReadOnlyList<object> Events, object? Problem) Patch(Artifact artifact, string json) =>
        UpdateArtifactEndpoint.Decide(artifact, Types.Resolve(artifact.ContentType), JsonNode.Parse(json)!.AsObject());

    [Fact]
    public void a_patch_yields_one_event_per_changed_field_and_none_for_unchanged_ones()
    {
        var (events, problem) = Patch(Given(Created()), """{"title":"Notes","description":"d","tags":["b","b"],"content":"body"}""");

        problem.ShouldBeNull();
        events.Count.ShouldBe(2);
        events[0].ShouldBe(new ArtifactDescribed(Id, "d"));
        events[1].ShouldBeOfType<ArtifactRetagged>().Tags.ShouldBe(["b"]);
    }

    [Fact]
    public void context_is_merge_patched_and_null_removes_a_key()
    {
        var artifact = Given(Created(context: new JsonObject { ["language"] = "en", ["keep"] = 1 }));

        var (events, _) = Patch(artifact, """{"context":{"language":null,"extra":{"x":1}}}""");

        var changed = events.Single().ShouldBeOfType<ArtifactContextChanged>();
        JsonNode.DeepEquals(changed.Context, JsonNode.Parse("""{"keep":1,"extra":{"x":1}}""")).ShouldBeTrue();
    }

    [Fact]
    public void an_immutable_context_field_is_refused()
    {
        var artifact = Given(Created("application/vnd.agience.tool+json",
            new JsonObject { ["serverId"] = Guid.NewGuid().ToString(), ["toolName"] = "search" }));

        var patch = new JsonObject { ["context"] = new JsonObject { ["serverId"] = Guid.NewGuid().ToString() } };
        var (events, problem) = Patch(artifact, patch.ToJsonString());

        events.ShouldBeEmpty();
        problem.ShouldNotBeNull();
    }

    [Fact]
    public void a_mutable_field_of_a_type_with_immutable_ones_can_change()
    {
        var artifact = Given(Created("application/vnd.agience.tool+json",
            new JsonObject { ["serverId"] = Guid.NewGuid().ToString(), ["toolName"] = "search" }));

        var (events, problem) = Patch(artifact, """{"context":{"toolName":"lookup"}}""");

        problem.ShouldBeNull();
        events.Single().ShouldBeOfType<ArtifactContextChanged>().Context["toolName"]!.GetValue<string>().ShouldBe("lookup");
    }

    [Fact]
    public void an_archived_artifact_cannot_be_patched()
    {
        var (events, problem) = Patch(Given(Created(), new ArtifactArchived(Id)), """{"title":"x"}""");

        events.ShouldBeEmpty();
        problem.ShouldNotBeNull();
    }

    [Fact]
    public void editing_a_committed_artifact_makes_it_a_draft_again_and_restore_returns_to_the_prior_state()
    {
        var artifact = Given(Created());
        artifact.State = ArtifactState.Committed;

        artifact.Apply(new Event<ArtifactArchived>(new ArtifactArchived(Id)) { UserName = Author.ToString() });
        artifact.Apply(new Event<ArtifactRestored>(new ArtifactRestored(Id)) { UserName = Author.ToString() });
        artifact.State.ShouldBe(ArtifactState.Committed);

        artifact.Apply(new Event<ArtifactRetitled>(new ArtifactRetitled(Id, "Edited")) { UserName = Author.ToString() });
        artifact.State.ShouldBe(ArtifactState.Draft);
    }

    [Fact]
    public void only_a_draft_moves_and_not_onto_its_own_workspace()
    {
        var target = Given(new ArtifactCreated(Guid.CreateVersion7(), null, TypeRegistry.Workspace, "Other", null, [], [], null));
        var draft = Given(Created());

        MoveArtifactEndpoint.Decide(draft, target).ShouldBe(new ArtifactMoved(Id, Workspace, target.Id));
        MoveArtifactEndpoint.Decide(Given(Created(), new ArtifactArchived(Id)), target).ShouldBeAssignableTo<IResult>();
        var home = Given(new ArtifactCreated(Workspace, null, TypeRegistry.Workspace, "Home", null, [], [], null));
        MoveArtifactEndpoint.Decide(draft, home).ShouldBeAssignableTo<IResult>();
    }
}
