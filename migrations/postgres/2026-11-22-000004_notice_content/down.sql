DROP TABLE notice_contents;
