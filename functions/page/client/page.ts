/**
 * The page's only script, and it is optional: the page reads and every form works without it.
 * It adds the browser's own zone to the zone switch (the server cannot know it), switches zone on
 * change, and refreshes the sections every minute while the page is in view and nobody is
 * filling in the override form. It talks to its own origin only (the CSP allows nothing else).
 */

const REFRESH_MS = 60_000;

function zoneSwitch(): void {
  const select = document.querySelector<HTMLSelectElement>('form[data-zone-switch] select[name="tz"]');
  if (!select) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) {
    const existing = [...select.options].find((o) => o.dataset.zone === zone);
    if (existing) existing.textContent = `${existing.textContent} (browser)`;
    else {
      const option = new Option(`${zone} (browser)`, zone);
      option.dataset.zone = zone;
      select.add(option);
    }
  }
  select.addEventListener('change', () => select.form?.requestSubmit());
}

function refresh(): void {
  const form = document.getElementById('override-form');
  let editing = false;
  form?.addEventListener('input', () => {
    editing = true;
  });
  form?.addEventListener('submit', () => {
    editing = true;
  });
  window.setInterval(async () => {
    if (document.hidden || editing || form?.contains(document.activeElement)) return;
    // The view as it is, without the one-off parts: a notice, or a live status read per minute.
    const url = new URL(window.location.href);
    for (const name of ['live', 'notice', 'id']) url.searchParams.delete(name);
    url.hash = '';
    try {
      const answer = await fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } });
      if (answer.status === 401) {
        // The session ended: show the sign-in notice.
        window.location.reload();
        return;
      }
      if (!answer.ok) return;
      const fresh = new DOMParser().parseFromString(await answer.text(), 'text/html');
      const ids = [
        'clock',
        ...[...document.querySelectorAll<HTMLElement>('[data-refresh]')].map((e) => e.id),
      ];
      for (const id of ids) {
        const now = fresh.getElementById(id);
        const old = document.getElementById(id);
        if (now && old) old.replaceWith(document.importNode(now, true));
      }
    } catch {
      // Offline for a moment: the next minute tries again.
    }
  }, REFRESH_MS);
}

zoneSwitch();
refresh();
