DROP TABLE team_messages;
