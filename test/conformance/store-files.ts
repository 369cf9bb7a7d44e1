import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Attachment, StoredFile } from '../../src/store/store';
import { directMessage, register, roomMessage, type WithStore } from './store-fixtures';

const file = (n: number, size = 100, extra: Partial<StoredFile> = {}): StoredFile => ({ id: n.toString(16).padStart(64, '0'), size, type: 'image/png', thumbnail: false, ...extra });
const attached = (f: StoredFile, name = 'f.png'): Attachment => ({ id: f.id, name, size: f.size, type: f.type, thumbnail: f.thumbnail });

/**
 * Store conformance: files (docs/PROTOCOL.md, "Files and attachments"): uploads against a
 * quota, the attachment a message keeps (and loses when recalled), who may see a file, and
 * the sweep of what nothing keeps.
 */
export function fileTests(withStore: WithStore): void {
  describe('files', () => {
    test('an upload is recorded within the quota; the same file counts once per account', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        const a = file(1, 600);
        assert.equal(await store.recordUpload(a, { username: 'ann', fileId: a.id, name: 'a.png', uploadedAt: 5 }, 1000), true);
        assert.deepEqual(await store.getFile(a.id), a);
        assert.equal(await store.uploadedBytes('ann'), 600);
        assert.equal(await store.recordUpload(a, { username: 'ann', fileId: a.id, name: 'again.png', uploadedAt: 6 }, 1000), true, 'the same file again');
        assert.equal(await store.uploadedBytes('ann'), 600);
        assert.deepEqual(await store.getUpload('ann', a.id), { username: 'ann', fileId: a.id, name: 'again.png', uploadedAt: 6 });
        const b = file(2, 500);
        assert.equal(await store.recordUpload(b, { username: 'ann', fileId: b.id, name: 'b', uploadedAt: 7 }, 1000), false, 'over the quota');
        assert.equal(await store.getFile(b.id), null, 'nothing written');
        assert.equal(await store.recordUpload(b, { username: 'bob', fileId: b.id, name: 'b', uploadedAt: 7 }, 1000), true, 'another account has its own quota');
        assert.equal(await store.getUpload('ann', b.id), null);
        assert.equal(await store.uploadedBytes('nobody'), 0);
      }));

    test('messages keep their attachment until recalled; the audience follows', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob', 'cat');
        const f = file(3, 10, { thumbnail: true });
        await store.recordUpload(f, { username: 'ann', fileId: f.id, name: 'p.png', uploadedAt: 1 }, 1000);
        const room = roomMessage('den', 1, { sender: 'ann', attachment: attached(f, 'p.png') });
        await store.appendRoomMessages([room]);
        assert.deepEqual((await store.getRoomMessage(room.id))?.attachment, attached(f, 'p.png'));
        assert.deepEqual((await store.roomHistory('den', null, 10))[0]?.attachment, attached(f, 'p.png'));
        await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 5, { attachment: attached(f, 'p.png') }), true);
        assert.deepEqual((await store.pendingInbox('bob', 0, 10))[0]?.message.attachment, attached(f, 'p.png'));
        assert.deepEqual((await store.directHistory('ann', 'bob', null, 10)).messages[0]?.attachment, attached(f, 'p.png'));
        assert.deepEqual(await store.fileAudience('ann', f.id, 10), { direct: true, rooms: [] });
        assert.deepEqual(await store.fileAudience('bob', f.id, 10), { direct: true, rooms: [] });
        assert.deepEqual(await store.fileAudience('cat', f.id, 10), { direct: false, rooms: ['den'] });
        await store.recallDirectMessage('d1');
        assert.equal((await store.getDirectMessage('d1'))?.attachment, undefined);
        assert.deepEqual(await store.fileAudience('bob', f.id, 10), { direct: false, rooms: ['den'] });
        await store.recallRoomMessage(room.id);
        assert.equal((await store.getRoomMessage(room.id))?.attachment, undefined);
        assert.deepEqual(await store.fileAudience('cat', f.id, 10), { direct: false, rooms: [] });
      }));

    test('the sweep forgets lapsed uploads no live message of theirs carries, then deletes unkept files', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        const kept = file(4);
        const lapsed = file(5);
        const fresh = file(6);
        await store.recordUpload(kept, { username: 'ann', fileId: kept.id, name: 'k', uploadedAt: 10 }, 1000);
        await store.recordUpload(lapsed, { username: 'ann', fileId: lapsed.id, name: 'l', uploadedAt: 10 }, 1000);
        await store.recordUpload(fresh, { username: 'ann', fileId: fresh.id, name: 'f', uploadedAt: 100 }, 1000);
        await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 5, { attachment: attached(kept) }), false);
        assert.deepEqual(await store.sweepFiles(50, 100), [lapsed.id]);
        assert.equal(await store.getFile(lapsed.id), null);
        assert.notEqual(await store.getFile(kept.id), null);
        assert.notEqual(await store.getUpload('ann', kept.id), null, 'kept by its uploader\'s live DM');
        assert.notEqual(await store.getFile(fresh.id), null);
        await store.recallDirectMessage('d1');
        assert.deepEqual(await store.sweepFiles(50, 100), [kept.id]);
        assert.deepEqual(await store.sweepFiles(50, 100), []);
        assert.equal(await store.uploadedBytes('ann'), 100);
      }));
  });
}
