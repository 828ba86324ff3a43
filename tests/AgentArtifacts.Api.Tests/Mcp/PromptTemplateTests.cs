using System.Text.Json.Nodes;
using AgentArtifacts.Api.Mcp.Prompts;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>Rendering and naming prompts: pure functions, no host.</summary>
public sealed class PromptTemplateTests
{
    private static readonly IReadOnlyList<PromptArgumentDeclaration> Declared =
        [new("language", "The language", Required: true), new("tone", null, Required: false)];

    [Fact]
    public void placeholders_are_filled_with_the_arguments_given_spaces_inside_the_braces_allowed()
    {
        var rendered = PromptTemplate.Render("Translate into {{language}}, {{ tone }}. Again: {{language}}.", Declared,
            new Dictionary<string, string> { ["language"] = "French", ["tone"] = "politely" });

        rendered.Succeeded.ShouldBeTrue();
        rendered.Text.ShouldBe("Translate into French, politely. Again: French.");
    }

    [Fact]
    public void an_optional_argument_left_out_renders_as_nothing()
    {
        PromptTemplate.Render("[{{tone}}] {{language}}", Declared, new Dictionary<string, string> { ["language"] = "de" }).Text.ShouldBe("[] de");
    }

    [Fact]
    public void a_missing_required_argument_is_named_and_nothing_is_rendered()
    {
        var rendered = PromptTemplate.Render("{{language}}", Declared, new Dictionary<string, string> { ["tone"] = "dry" });

        rendered.Succeeded.ShouldBeFalse();
        rendered.MissingArgument.ShouldBe("language");
        rendered.Text.ShouldBeNull();
    }

    [Fact]
    public void a_value_holding_a_placeholder_is_not_expanded_again()
    {
        PromptTemplate.Render("{{language}} {{tone}}", Declared,
                new Dictionary<string, string> { ["language"] = "{{tone}}", ["tone"] = "x" })
            .Text.ShouldBe("{{tone}} x");
    }

    [Fact]
    public void undeclared_placeholders_stay_as_written_and_undeclared_arguments_are_ignored()
    {
        PromptTemplate.Render("{{language}} {{other}} {{ not a name }} {single}", Declared,
                new Dictionary<string, string> { ["language"] = "en", ["other"] = "ignored" })
            .Text.ShouldBe("en {{other}} {{ not a name }} {single}");
    }

    [Fact]
    public void arguments_are_read_from_the_context_the_first_of_a_repeated_name_counting()
    {
        var context = JsonNode.Parse("""
            {"arguments": [
              {"name": "topic", "description": "What about", "required": true},
              {"name": "length"},
              {"name": "topic", "required": false},
              {"description": "no name"}
            ]}
            """)!.AsObject();

        PromptTemplate.ArgumentsOf(context).ShouldBe([new("topic", "What about", true), new("length", null, false)]);
        PromptTemplate.ArgumentsOf(null).ShouldBeEmpty();
        PromptTemplate.ArgumentsOf(new JsonObject()).ShouldBeEmpty();
    }

    [Fact]
    public void a_name_is_the_title_as_a_slug_and_the_ids_random_tail()
    {
        var id = Guid.Parse("01938c2e-7f00-7000-8000-00000a1b2c3d");

        PromptNames.Of(id, "Review a Pull Request!").ShouldBe("review_a_pull_request-0a1b2c3d");
        PromptNames.Of(id, "Résumé   über  alles").ShouldBe("resume_uber_alles-0a1b2c3d");
        PromptNames.Of(id, "   ").ShouldBe("prompt-0a1b2c3d");
        PromptNames.Of(id, "日本語").ShouldBe("prompt-0a1b2c3d");
        PromptNames.Of(id, new string('a', 300)).Length.ShouldBe(PromptNames.MaxSlugLength + 9);
    }

    [Fact]
    public void two_ids_made_in_the_same_millisecond_get_different_names()
    {
        // A UUID v7 starts with its creation time: the name must use the random end, not the start.
        var first = Guid.CreateVersion7(DateTimeOffset.UnixEpoch.AddYears(56));
        var second = Guid.CreateVersion7(DateTimeOffset.UnixEpoch.AddYears(56));

        PromptNames.Of(first, "Same").ShouldNotBe(PromptNames.Of(second, "Same"));
        PromptNames.Of(first, "Same").ShouldBe(PromptNames.Of(first, "Same"));
        PromptNames.Of(first, "Same").ShouldMatch("^[A-Za-z0-9_.-]{1,128}$");
    }
}
