/// Pre- and post-processing functions: they change the form of data, never judge it.
public enum Processor {
    /// Every Processor function, registered under its config name.
    public static let functions: [any PipelineFunction.Type] = [
        DecodeImage.self,
        Resize.self,
        Crop.self,
        Grayscale.self,
        ToTensor.self,
        Normalize.self,
        ArgmaxMask.self,
        ResizeMask.self,
        InjectFault.self,
    ]
}
