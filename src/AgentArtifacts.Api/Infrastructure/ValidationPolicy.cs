using FluentValidation;
using JasperFx;
using JasperFx.CodeGeneration;
using JasperFx.CodeGeneration.Frames;
using Wolverine.Http;
using Wolverine.Http.CodeGen;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// Runs the request body's FluentValidation validator (the nested <c>Validator</c> of each request record) before the
/// endpoint, answering 400 with <c>errors</c>. WolverineFx.Http.FluentValidation is not served here, so this is ours.
/// </summary>
public sealed class ValidationPolicy : IHttpPolicy
{
    public void Apply(IReadOnlyList<HttpChain> chains, GenerationRules rules, IServiceContainer container)
    {
        foreach (var chain in chains.Where(c => c.HasRequestType))
        {
            var validatorType = typeof(IValidator<>).MakeGenericType(chain.RequestType!);
            if (!container.RegistrationsFor(validatorType).Any()) continue;

            chain.Metadata.ProducesValidationProblem();
            var call = new MethodCall(typeof(RequestValidation), typeof(RequestValidation).GetMethod(nameof(RequestValidation.Run))!
                .MakeGenericMethod(chain.RequestType!));
            chain.Middleware.InsertRange(0, [call, new MaybeEndWithResultFrame(call.ReturnVariable!)]);
        }
    }
}

public static class RequestValidation
{
    public static async Task<IResult> Run<T>(IValidator<T> validator, T? request)
    {
        if (request is null) return Problems.Validation(new Dictionary<string, string[]> { [""] = ["A JSON object body is required."] });
        var result = await validator.ValidateAsync(request);
        return result.IsValid ? WolverineContinue.Result() : Problems.Validation(result.ToDictionary());
    }
}
