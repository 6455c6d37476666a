/// The version of Gradeline that results carry in their fingerprint.
public enum Gradeline {
    public static let version = "0.1.0"
}
