export { analyzeSources } from "./audit/analyzer.js";
