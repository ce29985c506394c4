/** How many cases the queue lists at once (the API's default page); the browser test compares against a page this big. */
export const QUEUE_PAGE = 50;
