import { describe, expect, it } from "vitest";
import { formatDate, formatName, formatVolume, modalitiesText, parseDicomDate, rgbCss } from "../format";

describe("formatting", () => {
  it("parses DICOM DA dates as calendar dates", () => {
    expect(parseDicomDate("20240131")?.toISOString()).toBe("2024-01-31T00:00:00.000Z");
    expect(parseDicomDate("")).toBeNull();
    expect(parseDicomDate("garbage")).toBeNull();
  });

  it("formats dates for the locale without shifting the day", () => {
    expect(formatDate("20240131", "en-US")).toBe("Jan 31, 2024");
    expect(formatDate("20240131", "ko")).toBe("2024. 1. 31.");
    expect(formatDate("not a date", "en")).toBe("not a date");
  });

  it("orders person names by locale", () => {
    expect(formatName("Hong^Gildong", "en")).toBe("Gildong Hong");
    expect(formatName("홍^길동", "ko")).toBe("홍 길동");
    expect(formatName("Doe^Jane=도^제인", "en")).toBe("Jane Doe");
    expect(formatName("", "en")).toBe("");
  });

  it("formats volumes and small values", () => {
    expect(formatVolume(12.3456, "en")).toBe("12.35");
    expect(formatVolume(1234.5, "ko")).toBe("1,234.50");
    expect(modalitiesText(["MR", "SEG"])).toBe("MR, SEG");
    expect(modalitiesText("MR")).toBe("MR");
    expect(rgbCss([255, 0, 10])).toBe("rgb(255, 0, 10)");
    expect(rgbCss(undefined)).toBe("transparent");
  });
});
