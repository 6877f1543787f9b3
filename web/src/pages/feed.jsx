import { api } from '../api.js';
import { usePaged, useSession, useTitle } from '../hooks.js';
import { PageHead, PhotoGrid } from '../ui.jsx';

function feedPager(kind) {
  return async (cursor) => {
    const q = new URLSearchParams({ limit: '24' });
    if (cursor) q.set('cursor', cursor);
    const r = await api(`/feed/${kind}?${q}`);
    return { items: r.items || [], next: r.next_cursor };
  };
}

export function Home(props) {
  const s = useSession();
  if (!s.user) return <Explore {...props} welcome />;
  return <HomeFeed />;
}

function HomeFeed() {
  useTitle('Home');
  const paged = usePaged(feedPager('home'), 'home');
  return (
    <section>
      <PageHead title="Your feed">
        <a class="button" href="/upload">
          Upload photos
        </a>
      </PageHead>
      <PhotoGrid
        paged={paged}
        label="Your feed"
        empty={
          <>
            Your feed is empty. <a href="/upload">Upload a photo</a> or follow people from the{' '}
            <a href="/explore">public feed</a>.
          </>
        }
      />
    </section>
  );
}

export function Explore({ welcome }) {
  useTitle('Explore');
  const paged = usePaged(feedPager('public'), 'public');
  return (
    <section>
      {welcome && (
        <div class="hero">
          <p class="hero-title">Share photos. Follow friends. Play with pixels.</p>
          <p>
            <a class="button" href="/signup">
              Create an account
            </a>{' '}
            or <a href="/login">sign in</a>.
          </p>
        </div>
      )}
      <PageHead title="Recent public photos" />
      <PhotoGrid paged={paged} label="Recent public photos" empty="Nobody has shared a public photo yet." />
    </section>
  );
}
