/** Longest side of a thumbnail, in pixels. */
export const THUMBNAIL_MAX_PX = 320;
/**
 * Pixels a source image may have at most (width x height): a decompression bomb (a tiny PNG
 * of 100k x 100k) is refused by sharp before it is decoded, and gets no thumbnail.
 */
const MAX_INPUT_PIXELS = 40_000_000;

type Sharp = typeof import('sharp').default;
let sharp: Sharp | null = null;

/**
 * Writes a WebP thumbnail (at most THUMBNAIL_MAX_PX on its longest side, EXIF orientation
 * applied, metadata dropped) of the image at `source` to `target`. False when the image
 * cannot be decoded (a truncated or hostile file): the file is kept, without a thumbnail.
 * sharp (libvips) is loaded on first use.
 */
export async function makeThumbnail(source: string, target: string): Promise<boolean> {
  sharp ??= require('sharp') as Sharp;
  try {
    await sharp(source, { limitInputPixels: MAX_INPUT_PIXELS, animated: false })
      .rotate()
      .resize(THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 70 })
      .toFile(target);
    return true;
  } catch {
    return false;
  }
}
