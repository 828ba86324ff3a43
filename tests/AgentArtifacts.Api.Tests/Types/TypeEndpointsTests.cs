using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Types;

public sealed class TypeEndpointsTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task the_shipped_types_are_listed()
    {
        var ada = await Fixture.NewUserAsync();

        var types = (await ada.Client.GetFromJson("/types")).Select(t => t!["contentType"]!.GetValue<string>()).ToList();

        types.ShouldContain("application/vnd.agience.workspace+json");
        types.ShouldContain("application/vnd.agience.collection+json");
        types.ShouldContain("text/markdown");
        types.ShouldContain("text/plain");
        types.ShouldContain("application/json");
        types.ShouldContain("application/vnd.agience.agent+json");
        types.ShouldContain("application/vnd.agience.tool+json");
        types.ShouldContain("application/vnd.agience.mcp-server+json");
        types.ShouldContain("application/vnd.agience.http-tool+json");
    }

    [Fact]
    public async Task resolve_applies_inheritance()
    {
        var ada = await Fixture.NewUserAsync();

        var resolved = await (await ada.Client.GetAsync("/types/resolve?contentType=application/vnd.agience.http-tool%2Bjson")).Json();

        resolved["lineage"]!.AsArray().Select(l => l!.GetValue<string>()).ShouldBe(["application/vnd.agience.http-tool+json", "application/json", "*/*"]);
        resolved["contextSchema"]!["required"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldContain("endpoint");
        resolved["operations"]!["invoke"]!["dispatch"]!["kind"]!.GetValue<string>().ShouldBe("http");
    }

    [Fact]
    public async Task an_unknown_type_resolves_to_its_family_and_a_bad_one_is_400()
    {
        var ada = await Fixture.NewUserAsync();

        (await (await ada.Client.GetAsync("/types/resolve?contentType=text/x-rst")).Json())["contentType"]!.GetValue<string>().ShouldBe("text/*");
        (await (await ada.Client.GetAsync("/types/resolve?contentType=image/png")).Json())["contentType"]!.GetValue<string>().ShouldBe("*/*");
        var bad = await ada.Client.GetAsync("/types/resolve?contentType=nonsense");
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await bad.ProblemCode()).ShouldBe("invalid_content_type");
    }
}
