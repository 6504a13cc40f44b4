namespace Flora.Comparison.Tests;

/// <summary>The main job's network: its output, and what an attached method changes before any training.</summary>
public sealed class TinyConvNeXtTests
{
    private static Tensor Images() => torch.randn(new long[] { 3, 1, 28, 28 }, generator: new Generator(7));

    [Fact]
    public void Forward_gives_one_logit_per_class_and_image()
    {
        torch.manual_seed(1);
        using var model = new TinyConvNeXt(width: 8, classes: 5);
        using var images = Images();
        using var logits = model.forward(images);
        Assert.Equal(new long[] { 3, 5 }, logits.shape);
        Assert.Equal(8, model.Width);
    }

    [Theory]
    [InlineData(FloraMethod.Flora)]
    [InlineData(FloraMethod.Lora)]
    [InlineData(FloraMethod.Dora)]
    public void An_attached_method_starts_as_the_base_model_and_trains_only_its_parameters(FloraMethod method)
    {
        torch.manual_seed(2);
        using var model = new TinyConvNeXt(width: 8);
        model.eval();
        using var images = Images();
        using var before = model.forward(images);

        var adapters = model.AttachFlora(method, MethodPlan.BudgetA);
        using var after = model.forward(images);
        using var difference = (after - before).abs().max();
        Assert.True(difference.item<float>() <= 1e-5f, $"{method} changed the output by {difference.item<float>()} before training");
        long trainable = model.FloraParameters().Sum(p => p.numel());
        Assert.Equal(adapters.TrainableParameters, trainable);
        Assert.InRange(trainable, 1, model.parameters().Sum(p => p.numel()) - 1);
        model.DetachFlora();
    }

    [Fact]
    public void A_width_below_one_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TinyConvNeXt(width: 0));
}
