using FluentValidation;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>The field rules every slice that writes artifact fields shares.</summary>
public static class ArtifactRules
{
    public const int MaxTags = 50;

    public static IRuleBuilderOptions<T, string> ArtifactTitle<T>(this IRuleBuilder<T, string> rule) =>
        rule.NotEmpty().Must(t => t.Trim().Length > 0).WithMessage("title must not be blank.").MaximumLength(300);

    public static IRuleBuilderOptions<T, string?> ArtifactDescription<T>(this IRuleBuilder<T, string?> rule) =>
        rule.MaximumLength(4000);

    public static IRuleBuilderOptions<T, IReadOnlyList<string>?> ArtifactTags<T>(this IRuleBuilder<T, IReadOnlyList<string>?> rule) =>
        rule.Must(tags => tags is null || tags.Count <= MaxTags).WithMessage($"At most {MaxTags} tags.")
            .Must(tags => tags is null || tags.All(t => !string.IsNullOrWhiteSpace(t) && t.Length <= 64))
            .WithMessage("Each tag is 1 to 64 characters.");
}
